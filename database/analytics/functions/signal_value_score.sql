CREATE OR REPLACE FUNCTION analytics.signal_value_score(
    p_tenant_id uuid,
    p_kind text,
    p_as_of date
)
RETURNS TABLE (
    series_key text,
    window_total numeric,
    active_days integer,
    engagement numeric,
    growth numeric,
    reach numeric,
    conversion numeric,
    value_score numeric
)
LANGUAGE sql
STABLE
SECURITY INVOKER
AS $$
-- FanPulse's value score (0-100) of each series of a kind over the 28 days ending p_as_of
-- (signal_daily_series, days without data at 0). Parts, each 0..100 rounded to 2 decimals -
--   engagement = 100 x the share of the 28 days with a value other than 0
--   growth     = 50 + 50 g, g = (the last 14 days' sum / the 14 before's) - 1, held within
--                0..100 (doubling 100, flat 50, to nothing 0); 100 when the 14 before are 0
--   reach      = 100 x the share of the tenant's series of this kind whose 28-day total is at
--                most this one's (the largest 100; one series alone 100)
--   conversion = 100 x (sum of converted / sum of base), at most 100, 0 without a base (ROAS
--                for campaign revenue, paying installs, sessions with a purchase per session
--                with a page view at a branch, units bought per view of an item)
-- score = 0.40 engagement + 0.30 growth + 0.20 reach + 0.10 conversion (of the rounded parts).
WITH s AS (
    SELECT d.*, p_as_of - d.day AS age
      FROM analytics.signal_daily_series(p_tenant_id, p_kind, p_as_of - 27, p_as_of) d
), total AS (
    SELECT s.series_key,
           sum(s.value) AS total,
           count(*) FILTER (WHERE s.value <> 0)::integer AS active,
           sum(s.value) FILTER (WHERE s.age < 14) AS recent,
           sum(s.value) FILTER (WHERE s.age >= 14) AS prior,
           sum(s.converted) AS converted,
           sum(s.base) AS base
      FROM s
     GROUP BY s.series_key
), parts AS (
    SELECT t.series_key, t.total, t.active,
           round(100 * t.active / 28.0, 2) AS engagement,
           round(CASE WHEN t.prior > 0
                      THEN least(greatest(50 + 50 * (t.recent / t.prior - 1), 0), 100)
                      ELSE 100 END, 2) AS growth,
           round(100 * cume_dist() OVER (ORDER BY t.total)::numeric, 2) AS reach,
           round(CASE WHEN t.base > 0 THEN 100 * least(t.converted / t.base, 1) ELSE 0 END, 2)
               AS conversion
      FROM total t
)
SELECT p.series_key, trim_scale(p.total), p.active, p.engagement, p.growth, p.reach,
       p.conversion,
       round(0.40 * p.engagement + 0.30 * p.growth + 0.20 * p.reach + 0.10 * p.conversion, 2)
  FROM parts p;
$$;
