CREATE OR REPLACE FUNCTION analytics.pipeline_curated_purchases(
    p_tenant_id uuid,
    p_from timestamptz DEFAULT NULL,
    p_to timestamptz DEFAULT NULL
)
RETURNS TABLE (
    appsflyer_id text,
    event_name text,
    event_time_utc timestamptz,
    revenue_usd numeric,
    campaign text,
    receipt_id text,
    status text,
    chargeback boolean,
    original_revenue_usd numeric
)
LANGUAGE sql
STABLE
SECURITY INVOKER
AS $$
-- The tenant's AppsFlyer purchases as the seed curated them, optionally those of [p_from, p_to),
-- revenue from the number kept or else its text (`,` or `.` decimals, bad = 0); campaign trimmed
-- (empty = none); only status success, event name purchase (case and spaces aside), revenue > 0;
-- one row per (appsflyer_id, event_time_utc, event_name, revenue), the first received; a
-- purchase whose receipt_id has a chargeback row (at any time) is kept with revenue 0, its
-- revenue before that in original_revenue_usd. In the purchases_curated report's order (time,
-- appsflyer_id, revenue), which the one sort that deduplicates gives, so a caller numbering the
-- rows in that order sorts nothing more.
WITH parsed AS (
    SELECT p.appsflyer_id::text AS appsflyer_id,
           p.event_time_utc,
           trim_scale(coalesce(p.revenue_usd, analytics.pipeline_amount(p.revenue_raw))) AS revenue,
           nullif(btrim(p.campaign), '') AS campaign,
           p.receipt_id::text AS receipt_id,
           p.received_at,
           p.upload_id,
           p.line,
           p.fact_id
      FROM analytics.purchase_raw p
     WHERE p.tenant_id = p_tenant_id
       AND (p_from IS NULL OR p.event_time_utc >= p_from)
       AND (p_to IS NULL OR p.event_time_utc < p_to)
       -- The usual spelling first; lower() on every row costs more than the whole comparison.
       AND (p.status = 'success' OR lower(btrim(p.status)) = 'success')
       AND (p.event_name = 'purchase' OR lower(btrim(p.event_name)) = 'purchase')
), kept AS (
    -- Time first, as it tells almost every pair of rows apart; text comparisons are then few.
    SELECT DISTINCT ON (x.event_time_utc, x.appsflyer_id, x.revenue)
           x.appsflyer_id,
           x.event_time_utc,
           x.revenue,
           x.campaign,
           x.receipt_id,
           -- A hashed lookup keeps the rows in their order, where a join would not.
           coalesce(x.receipt_id IN (
               SELECT c.receipt_id::text
                 FROM analytics.purchase_raw c
                WHERE c.tenant_id = p_tenant_id
                  AND lower(btrim(c.status)) = 'chargeback'  -- ix_purchase_raw_chargeback
                  AND c.receipt_id IS NOT NULL), false) AS charged
      FROM parsed x
     WHERE x.revenue > 0
     ORDER BY x.event_time_utc, x.appsflyer_id, x.revenue, x.received_at, x.upload_id, x.line,
              x.fact_id
)
SELECT k.appsflyer_id,
       'purchase'::text,
       k.event_time_utc,
       CASE WHEN k.charged THEN 0 ELSE k.revenue END,
       k.campaign,
       k.receipt_id,
       'success'::text,
       k.charged,
       k.revenue
  FROM kept k
 ORDER BY k.event_time_utc, k.appsflyer_id, k.revenue;
$$;
