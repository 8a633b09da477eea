CREATE OR REPLACE FUNCTION analytics.signal_series_campaign_installs(
    p_tenant_id uuid,
    p_from date,
    p_to date,
    p_conversion boolean DEFAULT true
)
RETURNS TABLE (series_key text, day date, value numeric, converted numeric, base numeric)
LANGUAGE sql
STABLE
SECURITY INVOKER
AS $$
-- Campaign installs per UTC day of [p_from, p_to]. The warehouse has no install events yet, so
-- an install is the first appearance of an appsflyer_id among the tenant's AppsFlyer rows
-- (purchase_raw, any event and status, its earliest row, the first received on a tie), credited
-- to that row's campaign (trimmed, upper-cased; none when empty). Converted = the installs whose
-- appsflyer_id has a curated purchase with revenue (not charged back) up to p_to, base = all
-- (converted 0, and the purchases not curated, unless p_conversion).
WITH first_seen AS (
    SELECT DISTINCT ON (p.appsflyer_id COLLATE "C")
           p.appsflyer_id,
           (p.event_time_utc AT TIME ZONE 'UTC')::date AS day,
           nullif(upper(btrim(p.campaign)), '') AS campaign
      FROM analytics.purchase_raw p
     WHERE p.tenant_id = p_tenant_id
       AND p.event_time_utc < (p_to + 1)::timestamp AT TIME ZONE 'UTC'
     ORDER BY p.appsflyer_id COLLATE "C", p.event_time_utc, p.received_at, p.upload_id, p.line,
              p.fact_id
), paying AS (
    SELECT DISTINCT c.appsflyer_id
      FROM analytics.pipeline_curated_purchases(
               p_tenant_id, p_from::timestamp AT TIME ZONE 'UTC',
               (p_to + 1)::timestamp AT TIME ZONE 'UTC') c
     WHERE p_conversion AND c.revenue_usd > 0
)
SELECT f.campaign, f.day, count(*)::numeric, count(p.appsflyer_id)::numeric, count(*)::numeric
  FROM first_seen f
  LEFT JOIN paying p ON p.appsflyer_id = f.appsflyer_id
 WHERE f.day >= p_from AND f.campaign IS NOT NULL
 GROUP BY f.campaign, f.day;
$$;
