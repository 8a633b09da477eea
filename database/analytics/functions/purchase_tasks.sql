CREATE OR REPLACE FUNCTION analytics.purchase_tasks(
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
-- Purchase follow-up tasks (GA seed's get_purchase_tasks), one page, newest first. A purchase is
-- a transaction of a session, from the current pulls' purchase rows whose day (the property's)
-- lies within the bounds (inclusive, either optional) and whose branch is p_location_id when
-- given; order_value sums its rows' revenue, page_location is its first row's, the user its
-- latest known one. products sums its purchase items (quantity, revenue) by item. p_query, when
-- given, keeps the purchases having an item whose id or name holds it (case-insensitive).
WITH purchase AS (
    SELECT p.session_id, p.transaction_id, min(p.day) AS day, max(p.event_time) AS event_time,
           sum(p.purchase_revenue) AS order_value,
           (array_agg(p.page_location ORDER BY p.event_time, p.part, p.row_number))[1]
               AS page_location,
           (array_agg(p.web_user_id ORDER BY p.event_time DESC)
               FILTER (WHERE p.web_user_id IS NOT NULL))[1] AS user_id
      FROM analytics.ga4_purchase p
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'purchases') c
        ON c.day = p.day AND c.pull_id = p.pull_id
     WHERE p.tenant_id = p_tenant_id
       AND p.day BETWEEN coalesce(p_start_date, '-infinity') AND coalesce(p_end_date, 'infinity')
       AND (p_location_id IS NULL OR p.branch_id = p_location_id)
     GROUP BY p.session_id, p.transaction_id
), item AS (
    SELECT i.session_id, i.transaction_id, i.item_id, i.item_name,
           sum(i.items_purchased) AS quantity, sum(i.item_revenue) AS revenue
      FROM analytics.ga4_purchase_item i
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'purchase_items') c
        ON c.day = i.day AND c.pull_id = i.pull_id
     WHERE i.tenant_id = p_tenant_id
       AND (i.session_id, i.transaction_id) IN (SELECT session_id, transaction_id FROM purchase)
     GROUP BY i.session_id, i.transaction_id, i.item_id, i.item_name
), task AS (
    SELECT p.* FROM purchase p
     WHERE p_query IS NULL OR EXISTS (
           SELECT 1 FROM item i
            WHERE i.session_id = p.session_id AND i.transaction_id = p.transaction_id
              AND (strpos(lower(i.item_name), lower(p_query)) > 0
                   OR strpos(lower(i.item_id), lower(p_query)) > 0))
), page AS (
    SELECT * FROM task
     ORDER BY event_time DESC NULLS LAST, transaction_id, session_id
     LIMIT p_limit OFFSET (p_page - 1)::bigint * p_limit
)
SELECT analytics.task_page(
    (SELECT jsonb_agg(
                analytics.customer_fields(p_tenant_id, pg.user_id) || jsonb_build_object(
                    'transaction_id', pg.transaction_id,
                    'event_date', pg.day,
                    'order_value', pg.order_value,
                    'page_location', pg.page_location,
                    'ga_session_id', pg.session_id,
                    'products', coalesce((
                        SELECT jsonb_agg(jsonb_build_object(
                                   'item_id', i.item_id, 'item_name', i.item_name,
                                   'quantity', i.quantity, 'revenue', i.revenue)
                                   ORDER BY i.item_name, i.item_id)
                          FROM item i
                         WHERE i.session_id = pg.session_id
                           AND i.transaction_id = pg.transaction_id), '[]'::jsonb))
                ORDER BY pg.event_time DESC NULLS LAST, pg.transaction_id, pg.session_id)
       FROM page pg),
    (SELECT count(*) FROM task),
    p_page,
    p_limit);
$$;
