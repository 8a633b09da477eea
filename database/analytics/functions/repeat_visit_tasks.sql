CREATE OR REPLACE FUNCTION analytics.repeat_visit_tasks(
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
-- Repeat visitor tasks (GA seed's get_repeat_visit_tasks), one page, latest activity first. A
-- visit is a session whose page views (current pulls, day within the bounds, branch
-- p_location_id when given) cover more than two distinct pages; a task is a visit of a known
-- user having more than one such visit. page_views_count sums the visit's page views;
-- products_details sums the items it viewed (same bounds) by item, products_viewed counts them.
-- p_query keeps the visits having a viewed item whose id or name holds it (case-insensitive).
WITH session AS (
    SELECT pv.session_id, max(pv.day) AS day, max(pv.event_time) AS last_activity,
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
    HAVING count(DISTINCT pv.page_location) > 2
), visit AS (
    SELECT s.*, count(*) OVER (PARTITION BY s.user_id) AS visits
      FROM session s WHERE s.user_id IS NOT NULL
), item AS (
    SELECT i.session_id, i.item_id, i.item_name, sum(i.items_viewed)::bigint AS views
      FROM analytics.ga4_view_item i
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'item_views') c
        ON c.day = i.day AND c.pull_id = i.pull_id
     WHERE i.tenant_id = p_tenant_id
       AND i.session_id IN (SELECT session_id FROM visit WHERE visits > 1)
       AND i.day BETWEEN coalesce(p_start_date, '-infinity') AND coalesce(p_end_date, 'infinity')
       AND (p_location_id IS NULL OR i.branch_id = p_location_id)
     GROUP BY i.session_id, i.item_id, i.item_name
), task AS (
    SELECT v.* FROM visit v
     WHERE v.visits > 1 AND (p_query IS NULL OR EXISTS (
           SELECT 1 FROM item i
            WHERE i.session_id = v.session_id
              AND (strpos(lower(i.item_name), lower(p_query)) > 0
                   OR strpos(lower(i.item_id), lower(p_query)) > 0)))
), page AS (
    SELECT * FROM task
     ORDER BY last_activity DESC NULLS LAST, session_id
     LIMIT p_limit OFFSET (p_page - 1)::bigint * p_limit
)
SELECT analytics.task_page(
    (SELECT jsonb_agg(
                analytics.customer_fields(p_tenant_id, pg.user_id) || jsonb_build_object(
                    'ga_session_id', pg.session_id,
                    'event_date', pg.day,
                    'last_activity', pg.last_activity,
                    'page_views_count', pg.page_views_count,
                    'products_viewed', (SELECT count(*) FROM item i
                                         WHERE i.session_id = pg.session_id),
                    'products_details', coalesce((
                        SELECT jsonb_agg(jsonb_build_object(
                                   'item_id', i.item_id, 'item_name', i.item_name,
                                   'views', i.views)
                                   ORDER BY i.views DESC, i.item_name, i.item_id)
                          FROM item i WHERE i.session_id = pg.session_id), '[]'::jsonb))
                ORDER BY pg.last_activity DESC NULLS LAST, pg.session_id)
       FROM page pg),
    (SELECT count(*) FROM task),
    p_page,
    p_limit);
$$;
