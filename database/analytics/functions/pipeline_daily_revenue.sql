CREATE OR REPLACE FUNCTION analytics.pipeline_daily_revenue(
    p_tenant_id uuid,
    p_from date,
    p_to date,
    p_run_id uuid DEFAULT NULL
)
RETURNS TABLE (
    day date,
    campaign text,
    revenue numeric
)
LANGUAGE sql
STABLE
SECURITY INVOKER
AS $$
-- Curated revenue (chargebacks at 0) per UTC day of [p_from, p_to] and campaign (trimmed,
-- upper-cased); purchases without a campaign are in none. With p_run_id, of the purchases that
-- run curated and kept (three of its blocks' columns read, and only the blocks of the range);
-- without, of the warehouse's curated now.
SELECT (c.event_time_utc AT TIME ZONE 'UTC')::date, upper(c.campaign), sum(c.revenue_usd)
  FROM (
    SELECT k.event_time_utc, k.campaign, k.revenue_usd
      FROM analytics.pipeline_curated_purchases(
               p_tenant_id, p_from::timestamp AT TIME ZONE 'UTC',
               (p_to + 1)::timestamp AT TIME ZONE 'UTC') k
     WHERE p_run_id IS NULL
    UNION ALL
    SELECT r.event_time_utc, r.campaign, r.revenue_usd
      FROM analytics.pipeline_purchase_block b
     CROSS JOIN LATERAL unnest(b.event_time_utc, b.campaign, b.revenue_usd)
           AS r(event_time_utc, campaign, revenue_usd)
     WHERE p_run_id IS NOT NULL
       AND b.tenant_id = p_tenant_id
       AND b.run_id = p_run_id
       AND b.last_time >= p_from::timestamp AT TIME ZONE 'UTC'
       AND b.first_time < (p_to + 1)::timestamp AT TIME ZONE 'UTC'
       AND r.event_time_utc >= p_from::timestamp AT TIME ZONE 'UTC'
       AND r.event_time_utc < (p_to + 1)::timestamp AT TIME ZONE 'UTC'
  ) c
 WHERE c.campaign IS NOT NULL
 GROUP BY 1, 2;
$$;
