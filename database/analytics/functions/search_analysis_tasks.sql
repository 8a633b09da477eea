CREATE OR REPLACE FUNCTION analytics.search_analysis_tasks(
    p_tenant_id uuid,
    p_page integer,
    p_limit integer,
    p_query text,
    p_location_id text,
    p_start_date date,
    p_end_date date
)
RETURNS jsonb
LANGUAGE sql
STABLE
SECURITY INVOKER
AS $$
-- Search optimisation tasks (GA seed's get_search_analysis_tasks), one page, latest activity
-- first, of two types. no_results, a term of a session that found nothing (search_count sums
-- its failed searches). no_conversion, a session viewing search results more than twice (the
-- sum of its result views) with no purchase row in that session on any day; search_term joins
-- its distinct terms with ", " in order. Rows are the current pulls' with a day within the
-- bounds and branch p_location_id when given; p_query keeps the items having a term that
-- holds it (case-insensitive).
WITH failed AS (
    SELECT 'no_results' AS search_type, n.session_id, n.search_term,
           sum(n.event_count)::bigint AS search_count, max(n.day) AS day,
           max(n.event_time) AS last_activity,
           (array_agg(n.web_user_id ORDER BY n.event_time DESC)
               FILTER (WHERE n.web_user_id IS NOT NULL))[1] AS user_id
      FROM analytics.ga4_no_search_results n
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'failed_searches') c
        ON c.day = n.day AND c.pull_id = n.pull_id
     WHERE n.tenant_id = p_tenant_id
       AND n.day BETWEEN coalesce(p_start_date, '-infinity') AND coalesce(p_end_date, 'infinity')
       AND (p_location_id IS NULL OR n.branch_id = p_location_id)
       AND (p_query IS NULL OR strpos(lower(n.search_term), lower(p_query)) > 0)
     GROUP BY n.session_id, n.search_term
), unconverted AS (
    SELECT 'no_conversion' AS search_type, v.session_id,
           string_agg(DISTINCT v.search_term, ', ' ORDER BY v.search_term) AS search_term,
           sum(v.event_count)::bigint AS search_count, max(v.day) AS day,
           max(v.event_time) AS last_activity,
           (array_agg(v.web_user_id ORDER BY v.event_time DESC)
               FILTER (WHERE v.web_user_id IS NOT NULL))[1] AS user_id
      FROM analytics.ga4_view_search_results v
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'search_results') c
        ON c.day = v.day AND c.pull_id = v.pull_id
     WHERE v.tenant_id = p_tenant_id AND v.session_id IS NOT NULL
       AND v.day BETWEEN coalesce(p_start_date, '-infinity') AND coalesce(p_end_date, 'infinity')
       AND (p_location_id IS NULL OR v.branch_id = p_location_id)
       AND NOT EXISTS (
           SELECT 1 FROM analytics.ga4_purchase p
             JOIN analytics.ga4_current_pulls(p_tenant_id, 'purchases') pc
               ON pc.day = p.day AND pc.pull_id = p.pull_id
            WHERE p.tenant_id = p_tenant_id AND p.session_id = v.session_id)
     GROUP BY v.session_id
    HAVING sum(v.event_count) > 2
       AND (p_query IS NULL OR bool_or(strpos(lower(v.search_term), lower(p_query)) > 0))
), task AS (
    SELECT * FROM failed UNION ALL SELECT * FROM unconverted
), page AS (
    SELECT * FROM task
     ORDER BY last_activity DESC NULLS LAST, search_type, search_term, session_id
     LIMIT p_limit OFFSET (p_page - 1)::bigint * p_limit
)
SELECT analytics.task_page(
    (SELECT jsonb_agg(
                analytics.customer_fields(p_tenant_id, pg.user_id) || jsonb_build_object(
                    'search_type', pg.search_type,
                    'search_term', pg.search_term,
                    'search_count', pg.search_count,
                    'ga_session_id', pg.session_id,
                    'event_date', pg.day,
                    'last_activity', pg.last_activity)
                ORDER BY pg.last_activity DESC NULLS LAST, pg.search_type, pg.search_term,
                         pg.session_id)
       FROM page pg),
    (SELECT count(*) FROM task),
    p_page,
    p_limit);
$$;
