CREATE OR REPLACE FUNCTION analytics.signal_spikes(
    p_tenant_id uuid,
    p_kind text,
    p_as_of date
)
RETURNS TABLE (
    series_key text,
    day date,
    value numeric,
    mean numeric,
    sd numeric,
    threshold numeric,
    history_days integer,
    spike boolean
)
LANGUAGE sql
STABLE
SECURITY INVOKER
AS $$
-- The points of p_as_of and the day before of each series of a kind, each against the 28
-- days before it (signal_daily_series, days without data at 0). A spike is a point above
-- mean + 2 sd (population sd), judged only with at least 7 of those 28 days not 0
-- (history_days); a series just begun is no spike. p_as_of may be today, its running value
-- spikes as soon as it passes the threshold; the day before catches what came after the last
-- look at it. mean, sd and threshold are rounded to 6 decimals (the comparison is exact).
WITH s AS (
    SELECT d.series_key, d.day, d.value
      FROM analytics.signal_daily_series(p_tenant_id, p_kind, p_as_of - 29, p_as_of, false) d
), point AS (
    SELECT x.series_key, x.day, x.value,
           avg(b.value) AS mean,
           stddev_pop(b.value) AS sd,
           count(*) FILTER (WHERE b.value <> 0)::integer AS history_days
      FROM s x
      JOIN s b ON b.series_key = x.series_key AND b.day BETWEEN x.day - 28 AND x.day - 1
     WHERE x.day >= p_as_of - 1
     GROUP BY x.series_key, x.day, x.value
)
SELECT p.series_key, p.day, trim_scale(p.value), trim_scale(round(p.mean, 6)),
       trim_scale(round(p.sd, 6)), trim_scale(round(p.mean + 2 * p.sd, 6)), p.history_days,
       p.history_days >= 7 AND p.value > p.mean + 2 * p.sd
  FROM point p;
$$;
