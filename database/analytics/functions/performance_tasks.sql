CREATE OR REPLACE FUNCTION analytics.performance_tasks(
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
-- Page performance tasks, one page, latest activity first, and the top 10 bounced entry pages.
-- A bounce is a session whose page views (current pulls, day within the bounds, branch
-- p_location_id when given) are all of one distinct page, its entry page; page_views_count
-- sums its views. p_query keeps the bounces whose page location or title holds it
-- (case-insensitive). top_pages counts the bounces kept by page, most first (ties by page).
WITH bounce AS (
    SELECT pv.session_id, max(pv.day) AS day, max(pv.event_time) AS last_activity,
           min(pv.page_location) AS page_location, min(pv.page_title) AS page_title,
           sum(pv.screen_page_views)::bigint AS page_views_count,
           (array_agg(pv.web_user_id ORDER BY pv.event_time DESC)
               FILTER (WHERE pv.web_user_id IS NOT NULL))[1] AS user_id
      FROM analytics.ga4_page_view pv
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'page_views') c
        ON c.day = pv.day AND c.pull_id = pv.pull_id
     WHERE pv.tenant_id = p_tenant_id AND pv.session_id IS NOT NULL
       AND pv.day BETWEEN coalesce(p_start_date, '-infinity') AND coalesce(p_end_date, 'infinity')
       AND (p_location_id IS NULL OR pv.branch_id = p_location_id)
     GROUP BY pv.session_id
    HAVING count(DISTINCT pv.page_location) = 1
), task AS (
    SELECT b.* FROM bounce b
     WHERE p_query IS NULL
        OR strpos(lower(b.page_location), lower(p_query)) > 0
        OR strpos(lower(b.page_title), lower(p_query)) > 0
), page AS (
    SELECT * FROM task
     ORDER BY last_activity DESC NULLS LAST, session_id
     LIMIT p_limit OFFSET (p_page - 1)::bigint * p_limit
), top_page AS (
    SELECT t.page_location, count(*) AS bounces FROM task t
     GROUP BY t.page_location
     ORDER BY bounces DESC, t.page_location
     LIMIT 10
)
SELECT analytics.task_page(
    (SELECT jsonb_agg(
                analytics.customer_fields(p_tenant_id, pg.user_id) || jsonb_build_object(
                    'ga_session_id', pg.session_id,
                    'event_date', pg.day,
                    'last_activity', pg.last_activity,
                    'page_location', pg.page_location,
                    'page_title', pg.page_title,
                    'page_views_count', pg.page_views_count)
                ORDER BY pg.last_activity DESC NULLS LAST, pg.session_id)
       FROM page pg),
    (SELECT count(*) FROM task),
    p_page,
    p_limit)
    || jsonb_build_object('top_pages', coalesce((
           SELECT jsonb_agg(jsonb_build_object('page_location', tp.page_location,
                                               'bounces', tp.bounces)
                            ORDER BY tp.bounces DESC, tp.page_location)
             FROM top_page tp), '[]'::jsonb));
$$;
