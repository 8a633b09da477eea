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
    paired integer;
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

    -- Ids in no particular order: ties are broken by the rows' values, never by an id. Texts
    -- compared in byte order (COLLATE "C"): equality is the same, sorting several times faster.
    CREATE TEMP TABLE pipeline_p ON COMMIT DROP AS
    SELECT row_number() OVER () AS pid,
           p.appsflyer_id COLLATE "C" AS appsflyer_id,
           p.event_time_utc,
           p.original_revenue_usd AS revenue,
           p.campaign,
           p.receipt_id COLLATE "C" AS receipt_id,
           p.chargeback
      FROM analytics.pipeline_purchases(p_tenant_id, NULL, NULL, p_run_id) p;

    CREATE TEMP TABLE pipeline_c ON COMMIT DROP AS
    SELECT row_number() OVER () AS cid, x.appsflyer_id, x.event_time_utc, x.revenue, x.name,
           x.campaign, x.receipt_id
      FROM (
        SELECT DISTINCT ON (y.event_time_utc, y.appsflyer_id, y.revenue, y.name) y.*
          FROM (SELECT c.appsflyer_id::text COLLATE "C" AS appsflyer_id,
                       c.event_time_utc,
                       trim_scale(coalesce(c.revenue_usd,
                                           analytics.pipeline_amount(c.revenue_raw))) AS revenue,
                       CASE WHEN c.event_name = 'purchase' THEN 'purchase'
                            ELSE lower(btrim(c.event_name)) END AS name,
                       nullif(btrim(c.campaign), '') AS campaign,
                       c.receipt_id::text COLLATE "C" AS receipt_id,
                       c.received_at, c.upload_id, c.line, c.fact_id
                  FROM analytics.purchase_confirmed c
                 WHERE c.tenant_id = p_tenant_id) y
         ORDER BY y.event_time_utc, y.appsflyer_id, y.revenue, y.name, y.received_at,
                  y.upload_id, y.line, y.fact_id
      ) x;
    ANALYZE pipeline_p;  -- the joins below are planned on the counts, not a guess
    ANALYZE pipeline_c;

    -- Receipts: every row of either side that has one, the k-th of each side paired; a row left
    -- alone has a receipt the other side does not hold (k times).
    CREATE TEMP TABLE pipeline_r ON COMMIT DROP AS
    SELECT p.pid, p.appsflyer_id AS p_af, p.event_time_utc AS p_time, p.revenue AS p_revenue,
           c.cid, c.appsflyer_id AS c_af, c.event_time_utc AS c_time, c.revenue AS c_revenue,
           c.name AS c_name, coalesce(p.receipt_id, c.receipt_id) AS receipt_id
      FROM (SELECT pid, appsflyer_id, event_time_utc, revenue, receipt_id,
                   row_number() OVER (PARTITION BY receipt_id
                                      ORDER BY event_time_utc, appsflyer_id, revenue) AS k
              FROM pipeline_p WHERE receipt_id IS NOT NULL) p
      FULL JOIN (SELECT cid, appsflyer_id, event_time_utc, revenue, name, receipt_id,
                        row_number() OVER (PARTITION BY receipt_id
                                           ORDER BY event_time_utc, appsflyer_id, revenue, name)
                            AS k
                   FROM pipeline_c WHERE receipt_id IS NOT NULL) c
        ON c.receipt_id = p.receipt_id AND c.k = p.k;
    ANALYZE pipeline_r;

    -- The rows no receipt paired, left for pairing by time: purchases (P) and confirmations (C).
    CREATE TEMP TABLE pipeline_lp ON COMMIT DROP AS
    SELECT pid, appsflyer_id AS af, event_time_utc AS t, revenue, receipt_id
      FROM pipeline_p WHERE receipt_id IS NULL
    UNION ALL
    SELECT pid, p_af, p_time, p_revenue, receipt_id FROM pipeline_r WHERE cid IS NULL;
    CREATE TEMP TABLE pipeline_lc ON COMMIT DROP AS
    SELECT cid, appsflyer_id AS af, event_time_utc AS t, revenue, name, receipt_id
      FROM pipeline_c WHERE receipt_id IS NULL
    UNION ALL
    SELECT cid, c_af, c_time, c_revenue, c_name, receipt_id FROM pipeline_r WHERE pid IS NULL;

    -- Candidate pairs by time, met by (appsflyer_id, slot) in a hash join rather than every
    -- purchase of an id against its every confirmation. A receipt left over on both sides means
    -- they differ: no candidate.
    CREATE TEMP TABLE pipeline_e ON COMMIT DROP AS
    WITH p AS MATERIALIZED (
        SELECT p.*, date_bin(width, p.t - tolerance, timestamptz 'epoch') AS slot FROM pipeline_lp p
        UNION ALL
        SELECT p.*, date_bin(width, p.t + tolerance, timestamptz 'epoch') FROM pipeline_lp p
         WHERE date_bin(width, p.t + tolerance, timestamptz 'epoch')
               <> date_bin(width, p.t - tolerance, timestamptz 'epoch')
    ), c AS MATERIALIZED (
        SELECT c.*, date_bin(width, c.t, timestamptz 'epoch') AS slot FROM pipeline_lc c
    )
    SELECT p.pid, c.cid, greatest(c.t - p.t, p.t - c.t) AS gap, p.af, p.t AS p_time,
           p.revenue AS p_revenue, c.t AS c_time, c.revenue AS c_revenue, c.name AS c_name
      FROM p
      JOIN c ON c.af = p.af AND c.slot = p.slot
     WHERE c.t BETWEEN p.t - tolerance AND p.t + tolerance
       AND (p.receipt_id IS NULL OR c.receipt_id IS NULL);

    -- Greedy by gap in one pass where it can be: a pair that is the nearest of both its purchase
    -- and its confirmation (one order of all pairs: gap, then the purchase's time and revenue,
    -- then the confirmation's) is taken. Only where a row's nearest went to another do the pairs
    -- left choose again, in rounds over those few. The nearest pair overall is always mutual.
    CREATE TEMP TABLE pipeline_t ON COMMIT DROP AS
    SELECT * FROM pipeline_e WITH NO DATA;
    LOOP
        INSERT INTO pipeline_t
        SELECT r.pid, r.cid, r.gap, r.af, r.p_time, r.p_revenue, r.c_time, r.c_revenue, r.c_name
          FROM (SELECT e.*,
                       row_number() OVER (PARTITION BY e.pid
                                          ORDER BY e.gap, e.c_time, e.c_revenue, e.c_name) AS rp,
                       row_number() OVER (PARTITION BY e.cid
                                          ORDER BY e.gap, e.p_time, e.p_revenue) AS rc
                  FROM pipeline_e e) r
         WHERE r.rp = 1 AND r.rc = 1;
        GET DIAGNOSTICS paired = ROW_COUNT;
        EXIT WHEN paired = 0;
        DELETE FROM pipeline_e e
         WHERE e.pid IN (SELECT t.pid FROM pipeline_t t)
            OR e.cid IN (SELECT t.cid FROM pipeline_t t);
    END LOOP;

    -- Every purchase once (with its confirmation or alone), then every confirmation left alone:
    -- numbered in the report's order on their keys alone, then given their other columns (a
    -- sort of narrow rows, not of whole ones).
    RETURN QUERY
    WITH keyed AS (
        SELECT r.pid, r.cid, 'receipt'::text AS matched_by, r.p_af AS af, r.p_time,
               r.p_revenue, r.c_time, r.c_revenue, r.c_name
          FROM pipeline_r r WHERE r.pid IS NOT NULL AND r.cid IS NOT NULL
        UNION ALL
        SELECT t.pid, t.cid, 'time', t.af, t.p_time, t.p_revenue, t.c_time, t.c_revenue, t.c_name
          FROM pipeline_t t
        UNION ALL
        SELECT p.pid, NULL, NULL, p.af, p.t, p.revenue, NULL, NULL, NULL
          FROM pipeline_lp p WHERE NOT EXISTS (SELECT FROM pipeline_t t WHERE t.pid = p.pid)
        UNION ALL
        SELECT NULL, c.cid, NULL, c.af, NULL, NULL, c.t, c.revenue, c.name
          FROM pipeline_lc c WHERE NOT EXISTS (SELECT FROM pipeline_t t WHERE t.cid = c.cid)
    ), numbered AS (
        SELECT k.*, row_number() OVER (ORDER BY k.af, coalesce(k.p_time, k.c_time), k.c_time,
                                               k.p_revenue, k.c_revenue, k.c_name) AS n
          FROM keyed k
    )
    SELECT CASE WHEN k.cid IS NULL THEN 'af_only' WHEN k.pid IS NULL THEN 'confirmed_only'
                ELSE 'matched' END,
           k.matched_by, k.af::text, coalesce(p.campaign, c.campaign), k.p_time, k.c_time,
           k.p_revenue, k.c_revenue, p.receipt_id::text, c.receipt_id::text,
           trim_scale(extract(epoch FROM k.c_time - k.p_time)), trim_scale(k.c_revenue - k.p_revenue),
           abs(k.c_revenue - k.p_revenue) > p_amount_tolerance, p.chargeback, k.n
      FROM numbered k
      LEFT JOIN pipeline_p p ON p.pid = k.pid
      LEFT JOIN pipeline_c c ON c.cid = k.cid;
END;
$$;
