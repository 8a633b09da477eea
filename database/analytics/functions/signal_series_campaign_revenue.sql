CREATE OR REPLACE FUNCTION analytics.signal_series_campaign_revenue(
    p_tenant_id uuid,
    p_from date,
    p_to date
)
RETURNS TABLE (series_key text, day date, value numeric, converted numeric, base numeric)
LANGUAGE sql
STABLE
SECURITY INVOKER
AS $$
-- Campaign revenue per UTC day of [p_from, p_to], the pipeline's daily ROAS rows (curated
-- revenue, chargebacks at 0, campaign trimmed and upper-cased). Its conversion is revenue over
-- ad cost (converted / base), so a campaign's conversion is its ROAS, capped at 1 by the score.
SELECT r.campaign, r.date, r.revenue_usd, r.revenue_usd, coalesce(r.ad_cost_usd, 0)
  FROM analytics.pipeline_daily_roas(p_tenant_id, p_from, p_to) r;
$$;
