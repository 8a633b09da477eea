CREATE OR REPLACE FUNCTION analytics.pipeline_reconciliation(
    p_tenant_id uuid,
    p_match_minutes integer DEFAULT 10,
    p_amount_tolerance numeric DEFAULT 0.01
)
RETURNS TABLE (
    status text,
    matched_by text,
    appsflyer_id text,
    campaign text,
    purchase_time timestamptz,
    confirmed_time timestamptz,
    purchase_revenue_usd numeric,
    confirmed_revenue_usd numeric,
    purchase_receipt_id text,
    confirmed_receipt_id text,
    seconds_apart numeric,
    amount_diff numeric,
    amount_mismatch boolean,
    chargeback boolean
)
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
AS $$
-- The tenant's curated purchases against its payment confirmations, one to one (a confirmation
-- is used once): first by receipt_id where both sides have one (the k-th purchase of a receipt,
-- by time, with its k-th confirmation); then, among the rest, the nearest confirmation of the
-- same appsflyer_id within p_match_minutes whose receipt_id does not contradict the purchase's,
-- nearest pairs first (ties by the order of the rows). Each pair is `matched`, with its amount
-- difference (confirmed - purchase revenue before any chargeback) flagged beyond
-- p_amount_tolerance; the rest are `af_only` or `confirmed_only`. Confirmations are read as
-- purchases are (revenue text, trimmed campaign, one per appsflyer_id, time, name, revenue).
#variable_conflict use_column
DECLARE
    tolerance interval;
    slot numeric;  -- seconds
    paired integer;
BEGIN
    IF p_match_minutes IS NULL OR p_match_minutes < 0 OR p_amount_tolerance IS NULL
       OR p_amount_tolerance < 0 THEN
        RAISE EXCEPTION 'match minutes and amount tolerance must be 0 or more'
              USING ERRCODE = '22023';
    END IF;
    tolerance := make_interval(mins => p_match_minutes);
    slot := greatest(p_match_minutes, 1) * 60;
    DROP TABLE IF EXISTS pg_temp.pipeline_p, pg_temp.pipeline_c, pg_temp.pipeline_m,
                         pg_temp.pipeline_e;

    CREATE TEMP TABLE pipeline_p ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY c.appsflyer_id COLLATE "C", c.event_time_utc,
                                    c.original_revenue_usd)
               AS pid,
           c.*
      FROM analytics.pipeline_curated_purchases(p_tenant_id) c;

    CREATE TEMP TABLE pipeline_c ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY x.appsflyer_id COLLATE "C", x.event_time_utc, x.revenue)
               AS cid,
           x.*
      FROM (
        SELECT DISTINCT ON (c.appsflyer_id COLLATE "C", c.event_time_utc,
                            lower(btrim(c.event_name)),
                            coalesce(c.revenue_usd, analytics.pipeline_amount(c.revenue_raw)))
               c.appsflyer_id::text AS appsflyer_id,
               c.event_time_utc,
               coalesce(c.revenue_usd, analytics.pipeline_amount(c.revenue_raw)) AS revenue,
               nullif(btrim(c.campaign), '') AS campaign,
               c.receipt_id::text AS receipt_id
          FROM analytics.purchase_confirmed c
         WHERE c.tenant_id = p_tenant_id
         ORDER BY c.appsflyer_id COLLATE "C", c.event_time_utc, lower(btrim(c.event_name)),
                  coalesce(c.revenue_usd, analytics.pipeline_amount(c.revenue_raw)),
                  c.received_at, c.upload_id, c.line, c.fact_id
      ) x;
    ANALYZE pipeline_p;  -- the joins below are planned on the counts, not a guess
    ANALYZE pipeline_c;

    CREATE TEMP TABLE pipeline_m ON COMMIT DROP AS
    SELECT p.pid, c.cid, 'receipt'::text AS matched_by
      FROM (SELECT pid, receipt_id,
                   row_number() OVER (PARTITION BY receipt_id COLLATE "C"
                                      ORDER BY event_time_utc, pid) AS k
              FROM pipeline_p WHERE receipt_id IS NOT NULL) p
      JOIN (SELECT cid, receipt_id,
                   row_number() OVER (PARTITION BY receipt_id COLLATE "C"
                                      ORDER BY event_time_utc, cid) AS k
              FROM pipeline_c WHERE receipt_id IS NOT NULL) c
        ON c.receipt_id = p.receipt_id AND c.k = p.k;
    ANALYZE pipeline_m;

    -- Candidate pairs by time. A receipt left over on one side has no partner with that receipt
    -- on the other, so "both have one" means they differ. Times fall in slots as long as the
    -- tolerance: a pair is in the same or a neighbouring slot, which makes the join a hash join
    -- on (appsflyer_id, slot) instead of every purchase of an id against its every confirmation.
    CREATE TEMP TABLE pipeline_e ON COMMIT DROP AS
    WITH p AS (
        SELECT p.pid, p.appsflyer_id, p.event_time_utc, p.receipt_id,
               floor(extract(epoch FROM p.event_time_utc) / slot)::bigint AS slot
          FROM pipeline_p p
         WHERE NOT EXISTS (SELECT FROM pipeline_m m WHERE m.pid = p.pid)
    ), c AS (
        SELECT c.cid, c.appsflyer_id, c.event_time_utc, c.receipt_id,
               floor(extract(epoch FROM c.event_time_utc) / slot)::bigint AS slot
          FROM pipeline_c c
         WHERE NOT EXISTS (SELECT FROM pipeline_m m WHERE m.cid = c.cid)
    )
    SELECT p.pid, c.cid,
           abs(extract(epoch FROM c.event_time_utc - p.event_time_utc)) AS gap
      FROM p
     CROSS JOIN LATERAL (VALUES (p.slot - 1), (p.slot), (p.slot + 1)) AS near(slot)
      JOIN c ON c.appsflyer_id = p.appsflyer_id AND c.slot = near.slot
     WHERE c.event_time_utc BETWEEN p.event_time_utc - tolerance AND p.event_time_utc + tolerance
       AND (p.receipt_id IS NULL OR c.receipt_id IS NULL);

    -- Greedy by gap, as rounds of mutual choices: a pair that is the nearest of both its
    -- purchase and its confirmation (the same total order on both sides) is taken; their other
    -- candidates go; again until none is left. The nearest pair overall is always mutual.
    ANALYZE pipeline_e;
    LOOP
        INSERT INTO pipeline_m (pid, cid, matched_by)
        SELECT r.pid, r.cid, 'time'
          FROM (SELECT e.pid, e.cid,
                       row_number() OVER (PARTITION BY e.pid ORDER BY e.gap, e.cid) AS rp,
                       row_number() OVER (PARTITION BY e.cid ORDER BY e.gap, e.pid) AS rc
                  FROM pipeline_e e) r
         WHERE r.rp = 1 AND r.rc = 1;
        GET DIAGNOSTICS paired = ROW_COUNT;
        EXIT WHEN paired = 0;
        DELETE FROM pipeline_e e WHERE e.pid IN (SELECT m.pid FROM pipeline_m m);
        DELETE FROM pipeline_e e WHERE e.cid IN (SELECT m.cid FROM pipeline_m m);
    END LOOP;
    ANALYZE pipeline_m;  -- or the anti-joins below may be planned as nested loops

    RETURN QUERY
    SELECT 'matched'::text, m.matched_by, p.appsflyer_id, coalesce(p.campaign, c.campaign),
           p.event_time_utc, c.event_time_utc, p.original_revenue_usd, trim_scale(c.revenue),
           p.receipt_id,
           c.receipt_id, trim_scale(extract(epoch FROM c.event_time_utc - p.event_time_utc)),
           trim_scale(c.revenue - p.original_revenue_usd),
           abs(c.revenue - p.original_revenue_usd) > p_amount_tolerance, p.chargeback
      FROM pipeline_m m
      JOIN pipeline_p p ON p.pid = m.pid
      JOIN pipeline_c c ON c.cid = m.cid
    UNION ALL
    SELECT 'af_only', NULL, p.appsflyer_id, p.campaign, p.event_time_utc, NULL,
           p.original_revenue_usd, NULL, p.receipt_id, NULL, NULL, NULL, NULL, p.chargeback
      FROM pipeline_p p
     WHERE NOT EXISTS (SELECT FROM pipeline_m m WHERE m.pid = p.pid)
    UNION ALL
    SELECT 'confirmed_only', NULL, c.appsflyer_id, c.campaign, NULL, c.event_time_utc, NULL,
           trim_scale(c.revenue), NULL, c.receipt_id, NULL, NULL, NULL, NULL
      FROM pipeline_c c
     WHERE NOT EXISTS (SELECT FROM pipeline_m m WHERE m.cid = c.cid);
END;
$$;
