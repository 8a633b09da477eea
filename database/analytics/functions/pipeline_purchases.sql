CREATE OR REPLACE FUNCTION analytics.pipeline_purchases(
    p_tenant_id uuid,
    p_run_id uuid
)
RETURNS TABLE (
    appsflyer_id text,
    event_time_utc timestamptz,
    revenue_usd numeric,
    campaign text,
    receipt_id text,
    chargeback boolean,
    original_revenue_usd numeric
)
LANGUAGE sql
STABLE
SECURITY INVOKER
AS $$
-- The curated purchases the reconciliation reads. With a run, those the run curated and kept (its
-- purchases_curated report, curated once per run); without one, the warehouse's curated now
-- (pipeline_curated_purchases). Unordered.
SELECT c.appsflyer_id, c.event_time_utc, c.revenue_usd, c.campaign, c.receipt_id, c.chargeback,
       c.original_revenue_usd
  FROM analytics.pipeline_curated_purchases(p_tenant_id) c
 WHERE p_run_id IS NULL
UNION ALL
SELECT r.appsflyer_id, r.event_time_utc, r.revenue_usd, r.campaign, r.receipt_id, r.chargeback,
       r.original_revenue_usd
  FROM analytics.pipeline_purchase_block b
 CROSS JOIN LATERAL unnest(b.appsflyer_id, b.event_time_utc, b.revenue_usd, b.campaign,
                           b.receipt_id, b.chargeback, b.original_revenue_usd)
       AS r(appsflyer_id, event_time_utc, revenue_usd, campaign, receipt_id, chargeback,
            original_revenue_usd)
 WHERE p_run_id IS NOT NULL
   AND b.tenant_id = p_tenant_id
   AND b.run_id = p_run_id;
$$;
