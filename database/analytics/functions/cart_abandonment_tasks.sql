CREATE OR REPLACE FUNCTION analytics.cart_abandonment_tasks(
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
-- Cart recovery tasks (GA seed's get_cart_abandonment_tasks), one page, latest activity first.
-- A task is a session with add-to-cart rows (current pulls, day within the bounds, branch
-- p_location_id when given) and no purchase row in that session on any day. total_value sums
-- the add-to-cart rows' value, last_activity is the latest of them, the user the latest known.
-- products sums the session's cart items (same bounds) by item, and items_count their units.
-- p_query keeps the sessions having an item whose id or name holds it (case-insensitive).
WITH cart AS (
    SELECT a.session_id, max(a.day) AS day, max(a.event_time) AS last_activity,
           sum(a.event_value) AS total_value,
           (array_agg(a.web_user_id ORDER BY a.event_time DESC)
               FILTER (WHERE a.web_user_id IS NOT NULL))[1] AS user_id
      FROM analytics.ga4_add_to_cart a
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'add_to_cart') c
        ON c.day = a.day AND c.pull_id = a.pull_id
     WHERE a.tenant_id = p_tenant_id AND a.session_id IS NOT NULL
       AND a.day BETWEEN coalesce(p_start_date, '-infinity') AND coalesce(p_end_date, 'infinity')
       AND (p_location_id IS NULL OR a.branch_id = p_location_id)
     GROUP BY a.session_id
), abandoned AS (
    SELECT k.* FROM cart k
     WHERE NOT EXISTS (
           SELECT 1 FROM analytics.ga4_purchase p
             JOIN analytics.ga4_current_pulls(p_tenant_id, 'purchases') c
               ON c.day = p.day AND c.pull_id = p.pull_id
            WHERE p.tenant_id = p_tenant_id AND p.session_id = k.session_id)
), item AS (
    SELECT i.session_id, i.item_id, i.item_name, sum(i.items_added_to_cart)::bigint AS quantity
      FROM analytics.ga4_add_to_cart_item i
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'add_to_cart_items') c
        ON c.day = i.day AND c.pull_id = i.pull_id
     WHERE i.tenant_id = p_tenant_id AND i.session_id IN (SELECT session_id FROM abandoned)
       AND i.day BETWEEN coalesce(p_start_date, '-infinity') AND coalesce(p_end_date, 'infinity')
       AND (p_location_id IS NULL OR i.branch_id = p_location_id)
     GROUP BY i.session_id, i.item_id, i.item_name
), task AS (
    SELECT k.* FROM abandoned k
     WHERE p_query IS NULL OR EXISTS (
           SELECT 1 FROM item i
            WHERE i.session_id = k.session_id
              AND (strpos(lower(i.item_name), lower(p_query)) > 0
                   OR strpos(lower(i.item_id), lower(p_query)) > 0))
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
                    'total_value', pg.total_value,
                    'items_count', (SELECT coalesce(sum(i.quantity), 0) FROM item i
                                     WHERE i.session_id = pg.session_id),
                    'products', coalesce((
                        SELECT jsonb_agg(jsonb_build_object(
                                   'item_id', i.item_id, 'item_name', i.item_name,
                                   'quantity', i.quantity)
                                   ORDER BY i.item_name, i.item_id)
                          FROM item i WHERE i.session_id = pg.session_id), '[]'::jsonb))
                ORDER BY pg.last_activity DESC NULLS LAST, pg.session_id)
       FROM page pg),
    (SELECT count(*) FROM task),
    p_page,
    p_limit);
$$;
