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
-- revenue before that in original_revenue_usd. Unordered (callers order).
WITH parsed AS (
    SELECT p.appsflyer_id,
           p.event_time_utc,
           coalesce(p.revenue_usd, analytics.pipeline_amount(p.revenue_raw)) AS revenue,
           nullif(btrim(p.campaign), '') AS campaign,
           p.receipt_id,
           p.received_at,
           p.upload_id,
           p.line,
           p.fact_id
      FROM analytics.purchase_raw p
     WHERE p.tenant_id = p_tenant_id
       AND (p_from IS NULL OR p.event_time_utc >= p_from)
       AND (p_to IS NULL OR p.event_time_utc < p_to)
       AND lower(btrim(p.status)) = 'success'
       AND lower(btrim(p.event_name)) = 'purchase'
), kept AS (
    -- Byte order (COLLATE "C") sorts twice as fast as a language's, and any order will do.
    SELECT DISTINCT ON (x.appsflyer_id COLLATE "C", x.event_time_utc, x.revenue) x.*
      FROM parsed x
     WHERE x.revenue > 0
     ORDER BY x.appsflyer_id COLLATE "C", x.event_time_utc, x.revenue, x.received_at, x.upload_id, x.line,
              x.fact_id
), charged AS (
    SELECT DISTINCT c.receipt_id
      FROM analytics.purchase_raw c
     WHERE c.tenant_id = p_tenant_id
       AND lower(btrim(c.status)) = 'chargeback'
       AND c.receipt_id IS NOT NULL
)
SELECT k.appsflyer_id::text,
       'purchase'::text,
       k.event_time_utc,
       CASE WHEN ch.receipt_id IS NULL THEN trim_scale(k.revenue) ELSE 0 END,
       k.campaign::text,
       k.receipt_id::text,
       'success'::text,
       ch.receipt_id IS NOT NULL,
       trim_scale(k.revenue)
  FROM kept k
  LEFT JOIN charged ch ON ch.receipt_id = k.receipt_id;
$$;
