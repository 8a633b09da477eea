CREATE OR REPLACE FUNCTION analytics.pipeline_reconciliation(
    p_tenant_id uuid,
    p_match_minutes integer DEFAULT 10,
    p_amount_tolerance numeric DEFAULT 0.01,
    p_run_id uuid DEFAULT NULL
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
    chargeback boolean,
    n bigint
)
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
-- Hash joins: the merge joins the planner picks on estimates would sort text keys.
SET enable_mergejoin = off
AS $$
-- The tenant's curated purchases (with p_run_id, those the run curated) against its payment
-- confirmations, one to one (a confirmation is used once): first by receipt_id where both sides
-- have one (the k-th purchase of a receipt, by time, with its k-th confirmation); then, among the
-- rest, the nearest confirmation of the same appsflyer_id within p_match_minutes whose receipt_id
-- does not contradict the purchase's, nearest pairs first (ties by time, then revenue). Each pair
-- is `matched`, with its amount difference (confirmed - purchase revenue before any chargeback)
-- flagged beyond p_amount_tolerance; the rest are `af_only` or `confirmed_only`. Confirmations
-- are read as purchases are (revenue text, trimmed campaign, one per appsflyer_id, time, name,
-- revenue). n numbers the rows in the report's order: appsflyer_id (byte order), then time.
#variable_conflict use_column
DECLARE
    tolerance interval;
    width interval;  -- of the time slots candidate pairs meet in
    paired bigint;
    purchases bigint;  -- with a candidate, and so confirmations
    confirmations bigint;
BEGIN
    IF p_match_minutes IS NULL OR p_match_minutes < 0 OR p_amount_tolerance IS NULL
       OR p_amount_tolerance < 0 THEN
        RAISE EXCEPTION 'match minutes and amount tolerance must be 0 or more'
              USING ERRCODE = '22023';
    END IF;
    tolerance := make_interval(mins => p_match_minutes);
    -- Wider than the tolerance, a slot holds most purchases with their every candidate: only one
    -- within the tolerance of a slot's edge is looked for in the neighbouring slot too.
    width := greatest(tolerance, interval '1 hour');
    DROP TABLE IF EXISTS pg_temp.pipeline_p, pg_temp.pipeline_c, pg_temp.pipeline_r,
                         pg_temp.pipeline_lp, pg_temp.pipeline_lc, pg_temp.pipeline_e,
                         pg_temp.pipeline_t;

    -- Purchases (pid, p_*) and deduplicated confirmations (cid, c_*), their ids in no
    -- particular order: ties are broken by the rows' values, never by an id. Texts compared in
    -- byte order (COLLATE "C"): equality is the same, sorting several times faster. Whole rows
    -- travel through every step below, so that no step has to look a row up again.
    CREATE TEMP TABLE pipeline_p ON COMMIT DROP AS
    SELECT row_number() OVER () AS pid,
           p.appsflyer_id COLLATE "C" AS p_af,
           p.event_time_utc AS p_time,
           p.original_revenue_usd AS p_revenue,
           p.campaign AS p_campaign,
           p.receipt_id COLLATE "C" AS p_receipt,
           p.chargeback
      FROM analytics.pipeline_purchases(p_tenant_id, p_run_id) p;

    CREATE TEMP TABLE pipeline_c ON COMMIT DROP AS
    SELECT row_number() OVER () AS cid, x.c_af, x.c_time, x.c_revenue, x.c_name, x.c_campaign,
           x.c_receipt
      FROM (
        SELECT DISTINCT ON (y.c_time, y.c_af, y.c_revenue, y.c_name) y.*
          FROM (SELECT c.appsflyer_id::text COLLATE "C" AS c_af,
                       c.event_time_utc AS c_time,
                       trim_scale(coalesce(c.revenue_usd,
                                           analytics.pipeline_amount(c.revenue_raw))) AS c_revenue,
                       CASE WHEN c.event_name = 'purchase' THEN 'purchase'
                            ELSE lower(btrim(c.event_name)) END AS c_name,
                       nullif(btrim(c.campaign), '') AS c_campaign,
                       c.receipt_id::text COLLATE "C" AS c_receipt,
                       c.received_at, c.upload_id, c.line, c.fact_id
                  FROM analytics.purchase_confirmed c
                 WHERE c.tenant_id = p_tenant_id) y
         ORDER BY y.c_time, y.c_af, y.c_revenue, y.c_name, y.received_at, y.upload_id, y.line,
                  y.fact_id
      ) x;

    -- Receipts: every row of either side that has one, the k-th of each side paired; a row left
    -- alone has a receipt the other side does not hold (k times).
    CREATE TEMP TABLE pipeline_r ON COMMIT DROP AS
    SELECT p.pid, p.p_af, p.p_time, p.p_revenue, p.p_campaign, p.p_receipt, p.chargeback,
           c.cid, c.c_af, c.c_time, c.c_revenue, c.c_name, c.c_campaign, c.c_receipt
      FROM (SELECT p.*, row_number() OVER (PARTITION BY p.p_receipt
                                           ORDER BY p.p_time, p.p_af, p.p_revenue) AS k
              FROM pipeline_p p WHERE p.p_receipt IS NOT NULL) p
      FULL JOIN (SELECT c.*, row_number() OVER (PARTITION BY c.c_receipt
                                                ORDER BY c.c_time, c.c_af, c.c_revenue, c.c_name)
                                 AS k
                   FROM pipeline_c c WHERE c.c_receipt IS NOT NULL) c
        ON c.c_receipt = p.p_receipt AND c.k = p.k;

    -- The rows no receipt paired, left for pairing by time.
    CREATE TEMP TABLE pipeline_lp ON COMMIT DROP AS
    SELECT * FROM pipeline_p WHERE p_receipt IS NULL
    UNION ALL
    SELECT pid, p_af, p_time, p_revenue, p_campaign, p_receipt, chargeback
      FROM pipeline_r WHERE cid IS NULL;
    CREATE TEMP TABLE pipeline_lc ON COMMIT DROP AS
    SELECT * FROM pipeline_c WHERE c_receipt IS NULL
    UNION ALL
    SELECT cid, c_af, c_time, c_revenue, c_name, c_campaign, c_receipt
      FROM pipeline_r WHERE pid IS NULL;

    -- Candidate pairs by time, met by (appsflyer_id, slot) in a hash join rather than every
    -- purchase of an id against its every confirmation. A receipt left over on both sides means
    -- they differ: no candidate.
    CREATE TEMP TABLE pipeline_e ON COMMIT DROP AS
    WITH p AS MATERIALIZED (
        SELECT p.*, date_bin(width, p.p_time - tolerance, timestamptz 'epoch') AS slot
          FROM pipeline_lp p
        UNION ALL
        SELECT p.*, date_bin(width, p.p_time + tolerance, timestamptz 'epoch')
          FROM pipeline_lp p
         WHERE date_bin(width, p.p_time + tolerance, timestamptz 'epoch')
               <> date_bin(width, p.p_time - tolerance, timestamptz 'epoch')
    ), c AS (
        SELECT c.*, date_bin(width, c.c_time, timestamptz 'epoch') AS slot FROM pipeline_lc c
    )
    SELECT p.pid, p.p_af, p.p_time, p.p_revenue, p.p_campaign, p.p_receipt, p.chargeback,
           c.cid, c.c_af, c.c_time, c.c_revenue, c.c_name, c.c_campaign, c.c_receipt,
           greatest(c.c_time - p.p_time, p.p_time - c.c_time) AS gap
      FROM p
      JOIN c ON c.c_af = p.p_af AND c.slot = p.slot
     WHERE c.c_time BETWEEN p.p_time - tolerance AND p.p_time + tolerance
       AND (p.p_receipt IS NULL OR c.c_receipt IS NULL);

    -- Greedy by gap in one pass where it can be: a pair that is the nearest of both its purchase
    -- and its confirmation (one order of all pairs: gap, then the purchase's time and revenue,
    -- then the confirmation's) is taken. Only where a row's nearest went to another do the pairs
    -- left choose again, in rounds over those few. The nearest pair overall is always mutual.
    CREATE TEMP TABLE pipeline_t ON COMMIT DROP AS
    SELECT * FROM pipeline_e WITH NO DATA;
    LOOP
        WITH ranked AS (
            SELECT e.*,
                   row_number() OVER (PARTITION BY e.pid
                                      ORDER BY e.gap, e.c_time, e.c_revenue, e.c_name) AS rp,
                   row_number() OVER (PARTITION BY e.cid
                                      ORDER BY e.gap, e.p_time, e.p_revenue) AS rc
              FROM pipeline_e e
        ), taken AS (
            INSERT INTO pipeline_t
            SELECT r.pid, r.p_af, r.p_time, r.p_revenue, r.p_campaign, r.p_receipt, r.chargeback,
                   r.cid, r.c_af, r.c_time, r.c_revenue, r.c_name, r.c_campaign, r.c_receipt,
                   r.gap
              FROM ranked r
             WHERE r.rp = 1 AND r.rc = 1
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM taken), count(*) FILTER (WHERE r.rp = 1),
               count(*) FILTER (WHERE r.rc = 1)
          INTO paired, purchases, confirmations
          FROM ranked r;
        -- Once every purchase (or every confirmation) with a candidate has its pair, no pair of
        -- two rows still alone is left: the usual case, after one pass.
        EXIT WHEN paired IN (0, purchases, confirmations);
        DELETE FROM pipeline_e e
         WHERE e.pid IN (SELECT t.pid FROM pipeline_t t)
            OR e.cid IN (SELECT t.cid FROM pipeline_t t);
    END LOOP;

    -- Every purchase once (with its confirmation or alone), then every confirmation left alone,
    -- numbered in the report's order.
    RETURN QUERY
    WITH detail AS (
        SELECT 'receipt'::text AS matched_by, r.*
          FROM pipeline_r r WHERE r.pid IS NOT NULL AND r.cid IS NOT NULL
        UNION ALL
        SELECT 'time', t.pid, t.p_af, t.p_time, t.p_revenue, t.p_campaign, t.p_receipt,
               t.chargeback, t.cid, t.c_af, t.c_time, t.c_revenue, t.c_name, t.c_campaign,
               t.c_receipt
          FROM pipeline_t t
        UNION ALL
        SELECT NULL, p.*, NULL, NULL, NULL, NULL, NULL, NULL, NULL
          FROM pipeline_lp p WHERE NOT EXISTS (SELECT FROM pipeline_t t WHERE t.pid = p.pid)
        UNION ALL
        SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, c.*
          FROM pipeline_lc c WHERE NOT EXISTS (SELECT FROM pipeline_t t WHERE t.cid = c.cid)
    )
    SELECT CASE WHEN d.cid IS NULL THEN 'af_only' WHEN d.pid IS NULL THEN 'confirmed_only'
                ELSE 'matched' END,
           d.matched_by, coalesce(d.p_af, d.c_af)::text, coalesce(d.p_campaign, d.c_campaign),
           d.p_time, d.c_time, d.p_revenue, d.c_revenue, d.p_receipt::text, d.c_receipt::text,
           trim_scale(extract(epoch FROM d.c_time - d.p_time)), trim_scale(d.c_revenue - d.p_revenue),
           abs(d.c_revenue - d.p_revenue) > p_amount_tolerance, d.chargeback,
           row_number() OVER (ORDER BY coalesce(d.p_af, d.c_af), coalesce(d.p_time, d.c_time),
                                       d.c_time, d.p_revenue, d.c_revenue, d.c_name)
      FROM detail d;
END;
$$;
