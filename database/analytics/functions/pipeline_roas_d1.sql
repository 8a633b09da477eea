CREATE OR REPLACE FUNCTION analytics.pipeline_roas_d1(
    p_tenant_id uuid,
    p_as_of date,
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
-- roas_d1.json, each campaign's ROAS on D-1, the day before p_as_of (UTC); with p_run_id, of the
-- purchases that run curated.
SELECT r.date, r.campaign, r.revenue_usd, r.ad_cost_usd, r.roas
  FROM analytics.pipeline_daily_roas(p_tenant_id, p_as_of - 1, p_as_of - 1, p_run_id) r;
$$;
