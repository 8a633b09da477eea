CREATE OR REPLACE FUNCTION analytics.pipeline_roas_anomaly(
    p_tenant_id uuid,
    p_as_of date,
    p_weeks integer DEFAULT 4,
    p_k numeric DEFAULT 3,
    p_floor numeric DEFAULT 0.25,
    p_run_id uuid DEFAULT NULL
)
RETURNS TABLE (
    date date,
    campaign text,
    roas_d1 numeric,
    avg7 numeric,
    anomaly boolean,
    robust_median numeric,
    robust_mad numeric,
    robust_history integer,
    robust_threshold numeric,
    robust_anomaly boolean
)
LANGUAGE sql
STABLE
SECURITY INVOKER
AS $$
-- roas_anomaly.json, each campaign of D-1 (the day before p_as_of) under two rules.
-- The seed's, ROAS D-1 < 0.5 x the mean ROAS of the campaign's last 7 dates up to D-1 (D-1
-- included; dates within 90 days). The robust one, against the median of the same weekday's
-- ROAS over the p_weeks weeks before, less max(p_k x 1.4826 x MAD, p_floor); the floor keeps a
-- campaign whose history is flat (MAD 0) or tiny from being flagged for noise. It needs 3 such
-- days, reads only days with a cost (a missing cost is no ROAS of 0 there), and never flags a
-- D-1 without a cost. With p_run_id, of the purchases that run curated.
WITH series AS (
    SELECT s.*
      FROM analytics.pipeline_daily_roas(p_tenant_id, p_as_of - 91, p_as_of - 1, p_run_id) s
), d1 AS (
    SELECT s.* FROM series s WHERE s.date = p_as_of - 1
), last7 AS (
    SELECT n.campaign, avg(n.roas) AS avg7
      FROM (SELECT s.campaign, s.roas,
                   row_number() OVER (PARTITION BY s.campaign ORDER BY s.date DESC) AS n
              FROM series s) n
     WHERE n.n <= 7
     GROUP BY n.campaign
), weekday AS (
    SELECT s.campaign, s.roas
      FROM series s
     WHERE s.date < p_as_of - 1
       AND s.date >= p_as_of - 1 - 7 * p_weeks
       AND (p_as_of - 1 - s.date) % 7 = 0
       AND s.ad_cost_usd > 0
), median AS (
    SELECT w.campaign,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY w.roas::float8)::numeric AS median,
           count(*)::integer AS n
      FROM weekday w
     GROUP BY w.campaign
), spread AS (
    SELECT w.campaign,
           percentile_cont(0.5) WITHIN GROUP (
               ORDER BY abs(w.roas - round(m.median, 6))::float8)::numeric AS mad,
           round(m.median, 6) AS median,
           m.n
      FROM weekday w
      JOIN median m USING (campaign)
     GROUP BY w.campaign, m.median, m.n
), limits AS (
    SELECT x.campaign, x.median, round(x.mad, 6) AS mad, x.n,
           round(x.median - greatest(p_k * 1.4826 * round(x.mad, 6), p_floor), 6) AS threshold
      FROM spread x
)
SELECT d.date,
       d.campaign,
       d.roas,
       trim_scale(round(l.avg7, 6)),
       d.roas < 0.5 * l.avg7,
       trim_scale(x.median),
       trim_scale(x.mad),
       coalesce(x.n, 0),
       trim_scale(x.threshold),
       coalesce(x.n >= 3 AND d.ad_cost_usd > 0 AND d.roas < x.threshold, false)
  FROM d1 d
  JOIN last7 l USING (campaign)
  LEFT JOIN limits x USING (campaign);
$$;
