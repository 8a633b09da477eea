CREATE OR REPLACE FUNCTION analytics.dashboard(
    p_tenant_id uuid,
    p_location_id text,
    p_start_date date,
    p_end_date date,
    p_granularity text
)
RETURNS jsonb
LANGUAGE sql
STABLE
SECURITY INVOKER
AS $$
-- The complete dashboard (GA seed's get_complete_dashboard_data) of the current pulls' rows
-- whose day lies within the bounds and branch is p_location_id when given, as {metrics,
-- chartData, locationStats}. visitors count the sessions with page views, unique_users their
-- known users; purchases are transactions of a session (as purchase_tasks has them) and
-- conversion_rate the percentage of visitors' sessions with one; searches count result views
-- and failed searches; abandoned_carts and repeat_visits are the totals of those task lists.
-- chartData has a point per day, week (from Monday) or month (p_granularity) from the start
-- bound (else the first day with data) to the end bound (else the last), zeros included.
-- locationStats has every active branch (only p_location_id's when given), by branch id.
WITH visit AS (
    SELECT pv.day, pv.branch_id, pv.session_id, pv.web_user_id
      FROM analytics.ga4_page_view pv
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'page_views') c
        ON c.day = pv.day AND c.pull_id = pv.pull_id
     WHERE pv.tenant_id = p_tenant_id
       AND pv.day BETWEEN coalesce(p_start_date, '-infinity') AND coalesce(p_end_date, 'infinity')
       AND (p_location_id IS NULL OR pv.branch_id = p_location_id)
), sale AS (
    SELECT p.session_id, min(p.day) AS day, sum(p.purchase_revenue) AS revenue,
           (array_agg(p.branch_id ORDER BY p.event_time, p.part, p.row_number))[1] AS branch_id
      FROM analytics.ga4_purchase p
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'purchases') c
        ON c.day = p.day AND c.pull_id = p.pull_id
     WHERE p.tenant_id = p_tenant_id
       AND p.day BETWEEN coalesce(p_start_date, '-infinity') AND coalesce(p_end_date, 'infinity')
       AND (p_location_id IS NULL OR p.branch_id = p_location_id)
     GROUP BY p.session_id, p.transaction_id
), search AS (
    SELECT s.event_count, false AS failed
      FROM analytics.ga4_view_search_results s
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'search_results') c
        ON c.day = s.day AND c.pull_id = s.pull_id
     WHERE s.tenant_id = p_tenant_id
       AND s.day BETWEEN coalesce(p_start_date, '-infinity') AND coalesce(p_end_date, 'infinity')
       AND (p_location_id IS NULL OR s.branch_id = p_location_id)
    UNION ALL
    SELECT n.event_count, true
      FROM analytics.ga4_no_search_results n
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'failed_searches') c
        ON c.day = n.day AND c.pull_id = n.pull_id
     WHERE n.tenant_id = p_tenant_id
       AND n.day BETWEEN coalesce(p_start_date, '-infinity') AND coalesce(p_end_date, 'infinity')
       AND (p_location_id IS NULL OR n.branch_id = p_location_id)
), visit_branch AS (
    SELECT branch_id, count(DISTINCT session_id) AS visitors,
           count(DISTINCT web_user_id) AS unique_users
      FROM visit GROUP BY branch_id
), sale_branch AS (
    SELECT branch_id, sum(revenue) AS revenue, count(*) AS purchases,
           count(DISTINCT session_id) AS buying
      FROM sale GROUP BY branch_id
), span AS (
    SELECT coalesce(p_start_date,
                    least((SELECT min(day) FROM visit), (SELECT min(day) FROM sale))) AS first_day,
           coalesce(p_end_date,
                    greatest((SELECT max(day) FROM visit), (SELECT max(day) FROM sale))) AS last_day
), point AS (
    SELECT b AS bucket
      FROM span, generate_series(date_trunc(p_granularity, span.first_day::timestamp),
                                 span.last_day::timestamp, ('1 ' || p_granularity)::interval) b
), sale_point AS (
    SELECT date_trunc(p_granularity, day::timestamp) AS bucket, sum(revenue) AS revenue,
           count(*) AS purchases
      FROM sale GROUP BY 1
), visit_point AS (
    SELECT date_trunc(p_granularity, day::timestamp) AS bucket,
           count(DISTINCT session_id) AS visitors
      FROM visit GROUP BY 1
)
SELECT jsonb_build_object(
    'metrics', jsonb_build_object(
        'total_revenue', (SELECT coalesce(sum(revenue), 0) FROM sale),
        'purchases', (SELECT count(*) FROM sale),
        'visitors', (SELECT count(DISTINCT session_id) FROM visit),
        'unique_users', (SELECT count(DISTINCT web_user_id) FROM visit),
        'abandoned_carts', (analytics.cart_abandonment_tasks(p_tenant_id, 1, 1, NULL,
                                p_location_id, p_start_date, p_end_date) ->> 'total')::bigint,
        'searches', (SELECT coalesce(sum(event_count), 0)::bigint FROM search),
        'failed_searches', (SELECT coalesce(sum(event_count), 0)::bigint FROM search
                             WHERE failed),
        'repeat_visits', (analytics.repeat_visit_tasks(p_tenant_id, 1, 1, NULL,
                              p_location_id, p_start_date, p_end_date) ->> 'total')::bigint,
        'conversion_rate', coalesce(round(100.0 * (SELECT count(DISTINCT session_id) FROM sale)
                                          / nullif((SELECT count(DISTINCT session_id)
                                                      FROM visit), 0), 2), 0)),
    'chartData', coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                   'date', pt.bucket::date,
                   'revenue', coalesce(sp.revenue, 0),
                   'purchases', coalesce(sp.purchases, 0),
                   'visitors', coalesce(vp.visitors, 0))
                   ORDER BY pt.bucket)
          FROM point pt
          LEFT JOIN sale_point sp ON sp.bucket = pt.bucket
          LEFT JOIN visit_point vp ON vp.bucket = pt.bucket), '[]'::jsonb),
    'locationStats', coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                   'location_id', b.branch_id,
                   'location_name', b.name,
                   'city', b.city,
                   'state', b.state,
                   'revenue', coalesce(sb.revenue, 0),
                   'purchases', coalesce(sb.purchases, 0),
                   'visitors', coalesce(vb.visitors, 0),
                   'unique_users', coalesce(vb.unique_users, 0),
                   'conversion_rate',
                       coalesce(round(100.0 * sb.buying / nullif(vb.visitors, 0), 2), 0))
                   ORDER BY b.branch_id)
          FROM analytics.branch b
          LEFT JOIN visit_branch vb ON vb.branch_id = b.branch_id
          LEFT JOIN sale_branch sb ON sb.branch_id = b.branch_id
         WHERE b.tenant_id = p_tenant_id AND b.active
           AND (p_location_id IS NULL OR b.branch_id = p_location_id)),
        '[]'::jsonb));
$$;
