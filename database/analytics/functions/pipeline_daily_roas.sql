CREATE OR REPLACE FUNCTION analytics.pipeline_daily_roas(
    p_tenant_id uuid,
    p_from date,
    p_to date,
    p_run_id uuid DEFAULT NULL
)
RETURNS TABLE (
    date date,
    campaign text,
    revenue_usd numeric,
    ad_cost_usd numeric,
    roas numeric
)
LANGUAGE sql
STABLE
SECURITY INVOKER
AS $$
-- ROAS per UTC day of [p_from, p_to] and campaign (trimmed, upper-cased), curated revenue
-- (chargebacks at 0) over the day's ad cost. A campaign with revenue and no cost row has cost
-- NULL and ROAS 0 (so does a cost of 0); one with cost and no purchase has revenue 0. Purchases
-- without a campaign are in no campaign's ROAS. With p_run_id, the purchases that run curated.
WITH revenue AS (
    SELECT r.day, r.campaign, r.revenue
      FROM analytics.pipeline_daily_revenue(p_tenant_id, p_from, p_to, p_run_id) r
), cost AS (
    SELECT k.cost_date AS day, upper(btrim(k.campaign)) AS campaign, sum(k.ad_cost_usd) AS cost
      FROM analytics.cost_daily k
     WHERE k.tenant_id = p_tenant_id
       AND k.cost_date BETWEEN p_from AND p_to
       AND btrim(k.campaign) <> ''
     GROUP BY 1, 2
)
SELECT day,
       campaign,
       trim_scale(coalesce(r.revenue, 0)),
       trim_scale(k.cost),
       CASE WHEN k.cost > 0 THEN trim_scale(round(coalesce(r.revenue, 0) / k.cost, 6)) ELSE 0 END
  FROM revenue r
  FULL JOIN cost k USING (day, campaign);
$$;
