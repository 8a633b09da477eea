CREATE OR REPLACE FUNCTION analytics.weekly_summary(
    p_tenant_id uuid,
    p_location_id text,
    p_week_start date
)
RETURNS jsonb
LANGUAGE sql
STABLE
SECURITY INVOKER
AS $$
-- A branch's week, p_week_start (a Monday) and the six days after it, for the weekly summary
-- email, the dashboard of the week (metrics, a chart point per day, the branch's stats) and the
-- metrics of the week before; the week's top 10 items bought (summed item revenue, then units,
-- ties by item id), top 10 failed search terms (summed searches, ties by term) and top 10
-- bounced entry pages (as performance_tasks counts them). Rows are the current pulls' whose day
-- lies in the week and branch is p_location_id (every branch when NULL).
WITH week AS (
    SELECT analytics.dashboard(p_tenant_id, p_location_id, p_week_start, p_week_start + 6,
                               'day') AS d
), item AS (
    SELECT i.item_id,
           (array_agg(i.item_name ORDER BY i.event_time DESC, i.part, i.row_number)
               FILTER (WHERE i.item_name IS NOT NULL))[1] AS item_name,
           coalesce(sum(i.items_purchased), 0) AS quantity,
           coalesce(sum(i.item_revenue), 0) AS revenue
      FROM analytics.ga4_purchase_item i
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'purchase_items') c
        ON c.day = i.day AND c.pull_id = i.pull_id
     WHERE i.tenant_id = p_tenant_id
       AND i.day BETWEEN p_week_start AND p_week_start + 6
       AND (p_location_id IS NULL OR i.branch_id = p_location_id)
       AND i.item_id IS NOT NULL
     GROUP BY i.item_id
     ORDER BY revenue DESC, quantity DESC, i.item_id
     LIMIT 10
), failed AS (
    SELECT n.search_term, coalesce(sum(n.event_count), 0) AS searches
      FROM analytics.ga4_no_search_results n
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'failed_searches') c
        ON c.day = n.day AND c.pull_id = n.pull_id
     WHERE n.tenant_id = p_tenant_id
       AND n.day BETWEEN p_week_start AND p_week_start + 6
       AND (p_location_id IS NULL OR n.branch_id = p_location_id)
       AND n.search_term <> ''
     GROUP BY n.search_term
     ORDER BY searches DESC, n.search_term
     LIMIT 10
)
SELECT jsonb_build_object(
    'week_start', p_week_start,
    'week_end', p_week_start + 6,
    'metrics', w.d -> 'metrics',
    'days', w.d -> 'chartData',
    'location', w.d -> 'locationStats' -> 0,
    'previous_metrics',
        analytics.dashboard(p_tenant_id, p_location_id, p_week_start - 7, p_week_start - 1,
                            'day') -> 'metrics',
    'top_items', coalesce((
        SELECT jsonb_agg(jsonb_build_object('item_id', t.item_id, 'item_name', t.item_name,
                                            'quantity', t.quantity, 'revenue', t.revenue)
                         ORDER BY t.revenue DESC, t.quantity DESC, t.item_id)
          FROM item t), '[]'::jsonb),
    'top_searches', coalesce((
        SELECT jsonb_agg(jsonb_build_object('search_term', f.search_term,
                                            'searches', f.searches)
                         ORDER BY f.searches DESC, f.search_term)
          FROM failed f), '[]'::jsonb),
    'top_pages', analytics.performance_tasks(p_tenant_id, 1, 1, NULL, p_location_id,
                                             p_week_start, p_week_start + 6) -> 'top_pages')
  FROM week w;
$$;
