CREATE OR REPLACE FUNCTION analytics.signal_momentum(
    p_tenant_id uuid,
    p_kind text,
    p_as_of date
)
RETURNS TABLE (
    series_key text,
    week_0 numeric,
    week_1 numeric,
    week_2 numeric,
    velocity numeric,
    acceleration numeric,
    consistency numeric,
    viral numeric,
    momentum_index numeric,
    status text
)
LANGUAGE sql
STABLE
SECURITY INVOKER
AS $$
-- FanPulse's momentum index (0-10) of each series of a kind over the 28 days ending p_as_of
-- (signal_daily_series, days without data at 0). W0 sums the last 7 days, W1 the 7 before,
-- W2 the 7 before those; g0 = W0 / W1 - 1 and g1 = W1 / W2 - 1 are the week-on-week growths.
--   velocity     = 5 + 10 g0           (flat 5, +50 % a week 10, -50 % 0)
--   acceleration = 5 + 10 (g0 - g1)    (growth as fast as the week before 5)
--   consistency  = 10 x (share of the last 14 days above the same weekday a week earlier,
--                  a tie counting half)
--   viral        = 5 (z - 1) where z = (the largest of the last 7 days - mean) / sd, mean and
--                  sd (population) of the 21 days before them (0 up to 1 sd, 10 from 3 sd);
--                  with sd 0, 10 when that day is above the mean, else 0
-- each held within 0..10 and rounded to 2 decimals; index = 0.35 velocity + 0.30 acceleration
-- + 0.20 consistency + 0.15 viral (of the rounded parts, so it can be checked from them).
-- Status from the index (viral >= 9, rapid_growth >= 7, growing >= 5, stable >= 3, else declining);
-- insufficient_data (parts and index null) when W1 or W2 is 0, with no growth to measure.
WITH s AS (
    SELECT d.series_key, p_as_of - d.day AS age, d.value
      FROM analytics.signal_daily_series(p_tenant_id, p_kind, p_as_of - 27, p_as_of, false) d
), week AS (
    SELECT s.series_key,
           sum(s.value) FILTER (WHERE s.age < 7) AS w0,
           sum(s.value) FILTER (WHERE s.age BETWEEN 7 AND 13) AS w1,
           sum(s.value) FILTER (WHERE s.age BETWEEN 14 AND 20) AS w2,
           max(s.value) FILTER (WHERE s.age < 7) AS peak,
           avg(s.value) FILTER (WHERE s.age >= 7) AS mean,
           stddev_pop(s.value) FILTER (WHERE s.age >= 7) AS sd
      FROM s
     GROUP BY s.series_key
), steady AS (
    SELECT a.series_key,
           sum(CASE WHEN a.value > b.value THEN 1 WHEN a.value = b.value THEN 0.5 ELSE 0 END)
               AS ups
      FROM s a
      JOIN s b ON b.series_key = a.series_key AND b.age = a.age + 7
     WHERE a.age < 14
     GROUP BY a.series_key
), growth AS (
    SELECT w.*, st.ups,
           w.w1 > 0 AND w.w2 > 0 AS measured,
           w.w0 / nullif(w.w1, 0) - 1 AS g0,
           w.w1 / nullif(w.w2, 0) - 1 AS g1
      FROM week w
      JOIN steady st USING (series_key)
), parts AS (
    SELECT g.series_key, g.w0, g.w1, g.w2, g.measured,
           round(least(greatest(5 + 10 * g.g0, 0), 10), 2) AS velocity,
           round(least(greatest(5 + 10 * (g.g0 - g.g1), 0), 10), 2) AS acceleration,
           round(10 * g.ups / 14, 2) AS consistency,
           round(CASE WHEN g.sd > 0
                      THEN least(greatest(5 * ((g.peak - g.mean) / g.sd - 1), 0), 10)
                      WHEN g.peak > g.mean THEN 10
                      ELSE 0 END, 2) AS viral
      FROM growth g
), indexed AS (
    SELECT p.*,
           round(0.35 * p.velocity + 0.30 * p.acceleration + 0.20 * p.consistency
                 + 0.15 * p.viral, 2) AS momentum_index
      FROM parts p
)
SELECT i.series_key,
       trim_scale(i.w0),
       trim_scale(i.w1),
       trim_scale(i.w2),
       CASE WHEN i.measured THEN i.velocity END,
       CASE WHEN i.measured THEN i.acceleration END,
       CASE WHEN i.measured THEN i.consistency END,
       CASE WHEN i.measured THEN i.viral END,
       CASE WHEN i.measured THEN i.momentum_index END,
       CASE WHEN NOT i.measured THEN 'insufficient_data'
            WHEN i.momentum_index >= 9 THEN 'viral'
            WHEN i.momentum_index >= 7 THEN 'rapid_growth'
            WHEN i.momentum_index >= 5 THEN 'growing'
            WHEN i.momentum_index >= 3 THEN 'stable'
            ELSE 'declining' END
  FROM indexed i;
$$;
