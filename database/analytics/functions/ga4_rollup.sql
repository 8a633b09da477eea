CREATE OR REPLACE FUNCTION analytics.ga4_rollup(
    p_tenant_id uuid,
    p_data_type text,
    p_from date,
    p_to date,
    p_before uuid[],
    p_after uuid[]
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
AS $$
-- The rollups the dashboard reads, for a tenant's GA4 data type over the days p_from to p_to,
-- when the current pulls of those days go from p_before to p_after: ga4_complete_pull calls
-- it for the day it swaps, before the replaced pull's rows are deleted; ga4_rollup_rebuild for
-- every day at once. Other data types have no rollup. The per-day rollups are made again from
-- p_after's rows, so that a day's never depends on another day's rows; the visitors' days
-- change where p_before's and p_after's rows differ.
DECLARE
    row_table text := CASE p_data_type
        WHEN 'page_views' THEN 'ga4_page_view'
        WHEN 'search_results' THEN 'ga4_view_search_results'
        WHEN 'failed_searches' THEN 'ga4_no_search_results'
    END;
    -- a row's visitors (kind, scope, branch_id, visitor_id) of ga4_visitor_days
    visitor_rows text := CASE p_data_type
        WHEN 'page_views' THEN
            'analytics.ga4_page_view r CROSS JOIN LATERAL (VALUES'
            ' (''session'', ''tenant'', '''', r.session_id),'
            ' (''user'', ''tenant'', '''', r.web_user_id),'
            ' (''user'', ''branch'', r.branch_id,'
            '  CASE WHEN r.branch_id IS NOT NULL THEN r.web_user_id END))'
        WHEN 'purchases' THEN
            'analytics.ga4_purchase r CROSS JOIN LATERAL (VALUES'
            ' (''buyer'', ''tenant'', '''', r.session_id))'
    END;
BEGIN
    IF row_table IS NOT NULL THEN  -- page views and searches per day and scope
        DELETE FROM analytics.ga4_day_total
         WHERE tenant_id = p_tenant_id AND data_type = p_data_type
           AND day BETWEEN p_from AND p_to;
        EXECUTE format(
            'INSERT INTO analytics.ga4_day_total'
            '  (tenant_id, data_type, day, scope, branch_id, rows, sessions, event_count)'
            ' SELECT $1, $2, day,'
            '        CASE grouping(branch_id) WHEN 0 THEN ''branch'' ELSE ''tenant'' END,'
            '        coalesce(branch_id, ''''), count(*), count(DISTINCT session_id), sum(%I)'
            '   FROM analytics.%I'
            '  WHERE tenant_id = $1 AND day BETWEEN $3 AND $4 AND pull_id = ANY($5)'
            '  GROUP BY GROUPING SETS ((day), (day, branch_id))'
            -- rows without a branch count for the whole tenant only
            ' HAVING grouping(branch_id) = 1 OR branch_id IS NOT NULL',
            CASE p_data_type WHEN 'page_views' THEN 'screen_page_views' ELSE 'event_count' END,
            row_table)
        USING p_tenant_id, p_data_type, p_from, p_to, p_after;
    END IF;

    IF p_data_type = 'page_views' THEN
        -- Per day, scope and user: the sessions whose page views that day cover more than two
        -- distinct pages, a session's user being its latest known one that day (as
        -- repeat_visit_tasks has them over a range).
        DELETE FROM analytics.ga4_visit_day
         WHERE tenant_id = p_tenant_id AND day BETWEEN p_from AND p_to;
        INSERT INTO analytics.ga4_visit_day
               (tenant_id, day, scope, branch_id, web_user_id, visits)
        SELECT p_tenant_id, day, scope, branch_id, web_user_id, count(*)
          FROM (SELECT day,
                       CASE grouping(branch_id) WHEN 0 THEN 'branch' ELSE 'tenant' END AS scope,
                       coalesce(branch_id, '') AS branch_id,
                       (array_agg(web_user_id ORDER BY event_time DESC)
                           FILTER (WHERE web_user_id IS NOT NULL))[1] AS web_user_id
                  FROM analytics.ga4_page_view
                 WHERE tenant_id = p_tenant_id AND day BETWEEN p_from AND p_to
                   AND pull_id = ANY(p_after) AND session_id IS NOT NULL
                 GROUP BY GROUPING SETS ((day, session_id), (day, session_id, branch_id))
                HAVING count(DISTINCT page_location) > 2
                   AND (grouping(branch_id) = 1 OR branch_id IS NOT NULL)) visit
         WHERE web_user_id IS NOT NULL
         GROUP BY day, scope, branch_id, web_user_id;

    ELSIF p_data_type = 'purchases' THEN
        -- A day's transaction (of a session, as purchase_tasks has them) is its rows that day;
        -- a piece is those of one branch, its first row (event_time, part, row_number) its key.
        DELETE FROM analytics.ga4_purchase_piece
         WHERE tenant_id = p_tenant_id AND day BETWEEN p_from AND p_to;
        INSERT INTO analytics.ga4_purchase_piece
               (tenant_id, day, pull_id, part, row_number, event_time, session_id, branch_id,
                transaction_id, revenue)
        SELECT DISTINCT ON (day, branch_id, session_id, transaction_id)
               p_tenant_id, day, pull_id, part, row_number, event_time, session_id, branch_id,
               transaction_id,
               sum(purchase_revenue)
                   OVER (PARTITION BY day, branch_id, session_id, transaction_id)
          FROM analytics.ga4_purchase
         WHERE tenant_id = p_tenant_id AND day BETWEEN p_from AND p_to AND pull_id = ANY(p_after)
         ORDER BY day, branch_id, session_id, transaction_id, event_time, part, row_number;
        -- Per day and scope: transactions, revenue, buying sessions; 'attributed' to a branch
        -- are the transactions whose first row is its. Rows without a session stay out (the
        -- dashboard takes them from the pieces).
        DELETE FROM analytics.ga4_sale_day
         WHERE tenant_id = p_tenant_id AND day BETWEEN p_from AND p_to;
        WITH deal AS (  -- each transaction of a day, and per branch the one of its rows
            SELECT day, session_id,
                   CASE WHEN grouping(branch_id) = 0 THEN branch_id END AS branch_id,
                   sum(revenue) AS revenue,
                   (array_agg(branch_id ORDER BY event_time, part, row_number))[1]
                       AS first_branch
              FROM analytics.ga4_purchase_piece
             WHERE tenant_id = p_tenant_id AND day BETWEEN p_from AND p_to
               AND session_id IS NOT NULL
             GROUP BY GROUPING SETS ((day, session_id, transaction_id),
                                    (day, session_id, transaction_id, branch_id))
            HAVING grouping(branch_id) = 1 OR branch_id IS NOT NULL
        )
        INSERT INTO analytics.ga4_sale_day
               (tenant_id, day, scope, branch_id, purchases, revenue, buying)
        SELECT p_tenant_id, day, scope, coalesce(branch_id, ''), count(*), sum(revenue),
               count(DISTINCT session_id)
          FROM (SELECT day, session_id, revenue, branch_id,
                       CASE WHEN branch_id IS NULL THEN 'tenant' ELSE 'branch' END AS scope
                  FROM deal
                UNION ALL
                SELECT day, session_id, revenue, first_branch, 'attributed' FROM deal
                 WHERE branch_id IS NULL AND first_branch IS NOT NULL) cell
         GROUP BY day, scope, branch_id;

    ELSIF p_data_type = 'add_to_cart' THEN  -- sessions with add-to-cart rows per day
        DELETE FROM analytics.ga4_cart_day
         WHERE tenant_id = p_tenant_id AND day BETWEEN p_from AND p_to;
        INSERT INTO analytics.ga4_cart_day (tenant_id, day, session_id, branch_ids)
        SELECT p_tenant_id, day, session_id,
               coalesce(array_agg(DISTINCT branch_id) FILTER (WHERE branch_id IS NOT NULL), '{}')
          FROM analytics.ga4_add_to_cart
         WHERE tenant_id = p_tenant_id AND day BETWEEN p_from AND p_to AND pull_id = ANY(p_after)
           AND session_id IS NOT NULL
         GROUP BY day, session_id;
    END IF;

    IF visitor_rows IS NOT NULL THEN
        -- The days of each session, user (also per branch) and buying session: only those
        -- whose days within the bounds differ between p_before's and p_after's rows are
        -- written, in key order (one lock order for every writer); one left without is deleted.
        EXECUTE format(
            'INSERT INTO analytics.ga4_visitor_days AS v'
            '       (tenant_id, kind, scope, branch_id, visitor_id, days)'
            ' SELECT $1, k.kind, k.scope, k.branch_id, k.visitor_id,'
            '        coalesce(range_agg(daterange(r.day, r.day, ''[]'')) FILTER'
            '                     (WHERE r.pull_id = ANY($5)), ''{}'')'
            '   FROM %s AS k(kind, scope, branch_id, visitor_id)'
            '  WHERE r.tenant_id = $1 AND r.day BETWEEN $2 AND $3'
            '    AND r.pull_id = ANY($4 || $5) AND k.visitor_id IS NOT NULL'
            '  GROUP BY k.kind, k.scope, k.branch_id, k.visitor_id'
            ' HAVING range_agg(daterange(r.day, r.day, ''[]'')) FILTER (WHERE r.pull_id = ANY($5))'
            '        IS DISTINCT FROM'
            '        range_agg(daterange(r.day, r.day, ''[]'')) FILTER (WHERE r.pull_id = ANY($4))'
            '  ORDER BY k.kind, k.scope, k.branch_id, k.visitor_id'
            '     ON CONFLICT (tenant_id, kind, scope, branch_id, visitor_id) DO UPDATE'
            '    SET days = v.days - datemultirange(daterange($2, $3, ''[]'')) + excluded.days',
            visitor_rows)
        USING p_tenant_id, p_from, p_to, p_before, p_after;
        DELETE FROM analytics.ga4_visitor_days WHERE tenant_id = p_tenant_id AND isempty(days);
    END IF;
END;
$$;
