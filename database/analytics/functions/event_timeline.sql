CREATE OR REPLACE FUNCTION analytics.event_timeline(
    p_tenant_id uuid,
    p_session_id text,
    p_user_id text,
    p_page integer,
    p_limit integer,
    p_oldest_first boolean,
    p_start_date date,
    p_end_date date
)
RETURNS jsonb
LANGUAGE sql
STABLE
SECURITY INVOKER
AS $$
-- A session's (p_session_id) or a customer's (p_user_id) history, one page of its GA4 rows of
-- the current pulls as events, newest first (oldest first with p_oldest_first), ties by event
-- type then row, with a day within the bounds (inclusive, either optional). Each event has its
-- type (the row's fact kind), time, day, session, branch, the user fields and its details.
WITH event AS (
    SELECT 'page_view' AS event_type, r.event_time, r.day, r.session_id, r.web_user_id,
           r.branch_id, r.pull_id, r.part, r.row_number,
           jsonb_build_object('page_location', r.page_location, 'page_title', r.page_title,
                              'page_views', r.screen_page_views) AS details
      FROM analytics.ga4_page_view r
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'page_views') c
        ON c.day = r.day AND c.pull_id = r.pull_id
     WHERE r.tenant_id = p_tenant_id
    UNION ALL
    SELECT 'view_item', r.event_time, r.day, r.session_id, r.web_user_id, r.branch_id,
           r.pull_id, r.part, r.row_number,
           jsonb_build_object('item_id', r.item_id, 'item_name', r.item_name,
                              'views', r.items_viewed)
      FROM analytics.ga4_view_item r
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'item_views') c
        ON c.day = r.day AND c.pull_id = r.pull_id
     WHERE r.tenant_id = p_tenant_id
    UNION ALL
    SELECT 'add_to_cart', r.event_time, r.day, r.session_id, r.web_user_id, r.branch_id,
           r.pull_id, r.part, r.row_number,
           jsonb_build_object('add_to_carts', r.add_to_carts, 'value', r.event_value)
      FROM analytics.ga4_add_to_cart r
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'add_to_cart') c
        ON c.day = r.day AND c.pull_id = r.pull_id
     WHERE r.tenant_id = p_tenant_id
    UNION ALL
    SELECT 'add_to_cart_item', r.event_time, r.day, r.session_id, r.web_user_id, r.branch_id,
           r.pull_id, r.part, r.row_number,
           jsonb_build_object('item_id', r.item_id, 'item_name', r.item_name,
                              'quantity', r.items_added_to_cart)
      FROM analytics.ga4_add_to_cart_item r
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'add_to_cart_items') c
        ON c.day = r.day AND c.pull_id = r.pull_id
     WHERE r.tenant_id = p_tenant_id
    UNION ALL
    SELECT 'purchase', r.event_time, r.day, r.session_id, r.web_user_id, r.branch_id,
           r.pull_id, r.part, r.row_number,
           jsonb_build_object('transaction_id', r.transaction_id,
                              'page_location', r.page_location, 'revenue', r.purchase_revenue)
      FROM analytics.ga4_purchase r
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'purchases') c
        ON c.day = r.day AND c.pull_id = r.pull_id
     WHERE r.tenant_id = p_tenant_id
    UNION ALL
    SELECT 'purchase_item', r.event_time, r.day, r.session_id, r.web_user_id, r.branch_id,
           r.pull_id, r.part, r.row_number,
           jsonb_build_object('transaction_id', r.transaction_id, 'item_id', r.item_id,
                              'item_name', r.item_name, 'quantity', r.items_purchased,
                              'revenue', r.item_revenue)
      FROM analytics.ga4_purchase_item r
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'purchase_items') c
        ON c.day = r.day AND c.pull_id = r.pull_id
     WHERE r.tenant_id = p_tenant_id
    UNION ALL
    SELECT 'view_search_results', r.event_time, r.day, r.session_id, r.web_user_id,
           r.branch_id, r.pull_id, r.part, r.row_number,
           jsonb_build_object('search_term', r.search_term, 'count', r.event_count)
      FROM analytics.ga4_view_search_results r
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'search_results') c
        ON c.day = r.day AND c.pull_id = r.pull_id
     WHERE r.tenant_id = p_tenant_id
    UNION ALL
    SELECT 'no_search_results', r.event_time, r.day, r.session_id, r.web_user_id,
           r.branch_id, r.pull_id, r.part, r.row_number,
           jsonb_build_object('search_term', r.search_term, 'count', r.event_count)
      FROM analytics.ga4_no_search_results r
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'failed_searches') c
        ON c.day = r.day AND c.pull_id = r.pull_id
     WHERE r.tenant_id = p_tenant_id
), chosen AS (
    SELECT e.*,
           CASE WHEN p_oldest_first THEN e.event_time END AS up,
           CASE WHEN NOT p_oldest_first THEN e.event_time END AS down
      FROM event e
     WHERE (p_session_id IS NULL OR e.session_id = p_session_id)
       AND (p_user_id IS NULL OR e.web_user_id = p_user_id)
       AND e.day BETWEEN coalesce(p_start_date, '-infinity') AND coalesce(p_end_date, 'infinity')
), page AS (
    SELECT * FROM chosen
     ORDER BY up, down DESC NULLS LAST, event_type, pull_id, part, row_number
     LIMIT p_limit OFFSET (p_page - 1)::bigint * p_limit
)
SELECT analytics.task_page(
    (SELECT jsonb_agg(
                analytics.customer_fields(p_tenant_id, pg.web_user_id) || jsonb_build_object(
                    'event_type', pg.event_type,
                    'event_time', pg.event_time,
                    'event_date', pg.day,
                    'ga_session_id', pg.session_id,
                    'location_id', pg.branch_id,
                    'details', pg.details)
                ORDER BY pg.up, pg.down DESC NULLS LAST, pg.event_type, pg.pull_id, pg.part,
                         pg.row_number)
       FROM page pg),
    (SELECT count(*) FROM chosen),
    p_page,
    p_limit);
$$;
