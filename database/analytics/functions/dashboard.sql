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
SET plan_cache_mode = force_custom_plan
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
-- Read from the rollups ga4_complete_pull keeps (ga4_rollup), not from the rows. The daily
-- rollups count a session seen on several days once a day, so its page views and purchase
-- pieces (few) are read to take back what was counted more than once; purchases without a
-- session come from the pieces. Each figure is the one the rows give. Planned for each call's
-- parameters (plan_cache_mode), as a plan for any branch and bounds would scan rows.
WITH visit_day AS (  -- sessions with page views per day, of the tenant (branch NULL), per branch
    SELECT t.day, CASE t.scope WHEN 'branch' THEN t.branch_id END AS branch_id, t.sessions
      FROM analytics.ga4_day_total t
     WHERE t.tenant_id = p_tenant_id AND t.data_type = 'page_views'
       AND t.day BETWEEN coalesce(p_start_date, '-infinity') AND coalesce(p_end_date, 'infinity')
       AND (p_location_id IS NULL OR t.scope = 'branch' AND t.branch_id = p_location_id)
), spanning AS (  -- the page views of the sessions seen on more than one day
    SELECT pv.session_id, pv.day, pv.branch_id, pv.web_user_id, pv.event_time, pv.page_location
      FROM analytics.ga4_visitor_days s
      JOIN analytics.ga4_page_view pv
        ON pv.tenant_id = p_tenant_id AND pv.session_id = s.visitor_id
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'page_views') c
        ON c.day = pv.day AND c.pull_id = pv.pull_id
     WHERE s.tenant_id = p_tenant_id AND s.kind = 'session' AND upper(s.days) - lower(s.days) > 1
       AND s.days && daterange(p_start_date, p_end_date, '[]')
       AND pv.day BETWEEN coalesce(p_start_date, '-infinity') AND coalesce(p_end_date, 'infinity')
       AND (p_location_id IS NULL OR pv.branch_id = p_location_id)
), overcount AS (  -- their days beyond the first, over the range, per chart point, per branch
    SELECT scope, bucket, branch_id, sum(days - 1) AS sessions
      FROM (SELECT CASE grouping(bucket, branch_id) WHEN 3 THEN 'range' WHEN 1 THEN 'point'
                        ELSE 'branch' END AS scope,
                   bucket, branch_id, count(DISTINCT day) AS days
              FROM (SELECT *, date_trunc(p_granularity, day::timestamp) AS bucket
                      FROM spanning) s
             GROUP BY GROUPING SETS ((session_id), (session_id, bucket),
                                    (session_id, branch_id))) per_session
     GROUP BY scope, bucket, branch_id
), visit_user AS (  -- visits (repeat_visit_tasks') per user over the range
    SELECT web_user_id, sum(visits) AS visits
      FROM (SELECT v.web_user_id, v.visits
              FROM analytics.ga4_visit_day v
             WHERE v.tenant_id = p_tenant_id
               AND v.scope = CASE WHEN p_location_id IS NULL THEN 'tenant' ELSE 'branch' END
               AND v.branch_id = coalesce(p_location_id, '')
               AND v.day BETWEEN coalesce(p_start_date, '-infinity')
                             AND coalesce(p_end_date, 'infinity')
            UNION ALL
            -- a session seen on several days (its visit of each day out, that of the range in)
            SELECT (array_agg(web_user_id ORDER BY event_time DESC)
                       FILTER (WHERE web_user_id IS NOT NULL))[1],
                   CASE WHEN grouping(day) = 0 THEN -1 ELSE 1 END
              FROM spanning
             GROUP BY GROUPING SETS ((session_id, day), (session_id))
            HAVING count(DISTINCT page_location) > 2) visit
     WHERE web_user_id IS NOT NULL
     GROUP BY web_user_id
), visit_branch AS (  -- visitors and unique users of the whole tenant (NULL) and per branch
    SELECT branch_id, sum(sessions) AS visitors, sum(users) AS unique_users
      FROM (SELECT branch_id, sessions, 0 AS users FROM visit_day
            UNION ALL
            SELECT branch_id, -sessions, 0 FROM overcount
             WHERE scope = 'range' AND p_location_id IS NULL
                OR scope = 'branch' AND branch_id IS NOT NULL
            UNION ALL
            SELECT CASE scope WHEN 'branch' THEN branch_id END, 0, count(*)
              FROM analytics.ga4_visitor_days
             WHERE tenant_id = p_tenant_id AND kind = 'user'
               AND days && daterange(p_start_date, p_end_date, '[]')
               AND (p_location_id IS NULL OR scope = 'branch' AND branch_id = p_location_id)
             GROUP BY scope, branch_id) counts
     GROUP BY branch_id
), bought AS (  -- purchase pieces the daily cells cannot give (those of the sessions buying
                -- on more than one day, counted once a day there, and those without a session)
    SELECT p.day, p.session_id, p.transaction_id, p.branch_id, p.event_time, p.part,
           p.row_number, p.revenue
      FROM analytics.ga4_purchase_piece p
     WHERE p.tenant_id = p_tenant_id AND p.session_id IS NULL
       AND p.day BETWEEN coalesce(p_start_date, '-infinity') AND coalesce(p_end_date, 'infinity')
       AND (p_location_id IS NULL OR p.branch_id = p_location_id)
    UNION ALL
    SELECT p.day, p.session_id, p.transaction_id, p.branch_id, p.event_time, p.part,
           p.row_number, p.revenue
      FROM analytics.ga4_visitor_days s
      JOIN analytics.ga4_purchase_piece p
        ON p.tenant_id = p_tenant_id AND p.session_id = s.visitor_id
     WHERE s.tenant_id = p_tenant_id AND s.kind = 'buyer' AND upper(s.days) - lower(s.days) > 1
       AND s.days && daterange(p_start_date, p_end_date, '[]')
       AND p.day BETWEEN coalesce(p_start_date, '-infinity') AND coalesce(p_end_date, 'infinity')
       AND (p_location_id IS NULL OR p.branch_id = p_location_id)
), deal AS (  -- their transactions over the range (+1), each day's as the cells counted it (-1)
    SELECT CASE WHEN grouping(day) = 0 THEN -1 ELSE 1 END AS sign, min(day) AS day, session_id,
           sum(revenue) AS revenue,
           (array_agg(branch_id ORDER BY event_time, part, row_number))[1] AS branch_id
      FROM bought
     GROUP BY GROUPING SETS ((session_id, transaction_id), (day, session_id, transaction_id))
    HAVING grouping(day) = 1 OR session_id IS NOT NULL
), sale_day AS (  -- per day, the transactions beginning then (purchases) and their revenue
    SELECT day, sum(purchases) AS purchases, sum(revenue) AS revenue
      FROM (SELECT day, purchases, revenue
              FROM analytics.ga4_sale_day
             WHERE tenant_id = p_tenant_id
               AND scope = CASE WHEN p_location_id IS NULL THEN 'tenant' ELSE 'branch' END
               AND branch_id = coalesce(p_location_id, '')
               AND day BETWEEN coalesce(p_start_date, '-infinity')
                           AND coalesce(p_end_date, 'infinity')
            UNION ALL
            SELECT day, sign, sign * revenue FROM deal) cell
     GROUP BY day
    HAVING sum(purchases) <> 0
), sale_branch AS (  -- purchases, revenue and buying sessions per branch (NULL for the metrics)
    SELECT branch_id, sum(purchases) AS purchases, sum(revenue) AS revenue, sum(buying) AS buying
      FROM (SELECT CASE WHEN scope <> 'tenant' THEN branch_id END AS branch_id,
                   purchases, revenue, buying
              FROM analytics.ga4_sale_day
             WHERE tenant_id = p_tenant_id
               AND day BETWEEN coalesce(p_start_date, '-infinity')
                           AND coalesce(p_end_date, 'infinity')
               -- a branch's are its attributed transactions, or those of its rows when asked
               AND (p_location_id IS NULL AND scope IN ('tenant', 'attributed')
                    OR scope = 'branch' AND branch_id = p_location_id)
            UNION ALL
            SELECT branch_id, sum(sign), sum(sign * revenue),
                   count(DISTINCT session_id) FILTER (WHERE sign > 0)
                   - count(DISTINCT (day, session_id)) FILTER (WHERE sign < 0)
              FROM deal
             GROUP BY GROUPING SETS ((), (branch_id))
            HAVING grouping(branch_id) = 1 AND p_location_id IS NULL
                OR branch_id IS NOT NULL) cell
     GROUP BY branch_id
), search AS (
    SELECT coalesce(sum(event_count), 0)::bigint AS searches,
           coalesce(sum(event_count) FILTER (WHERE data_type = 'failed_searches'), 0)::bigint
               AS failed
      FROM analytics.ga4_day_total
     WHERE tenant_id = p_tenant_id AND data_type IN ('search_results', 'failed_searches')
       AND day BETWEEN coalesce(p_start_date, '-infinity') AND coalesce(p_end_date, 'infinity')
       AND scope = CASE WHEN p_location_id IS NULL THEN 'tenant' ELSE 'branch' END
       AND branch_id = coalesce(p_location_id, '')
), span AS (
    SELECT coalesce(p_start_date,
                    least((SELECT min(day) FROM visit_day
                            WHERE branch_id IS NOT DISTINCT FROM p_location_id),
                          (SELECT min(day) FROM sale_day))) AS first_day,
           coalesce(p_end_date,
                    greatest((SELECT max(day) FROM visit_day
                               WHERE branch_id IS NOT DISTINCT FROM p_location_id),
                             (SELECT max(day) FROM sale_day))) AS last_day
), point AS (
    SELECT b AS bucket
      FROM span, generate_series(date_trunc(p_granularity, span.first_day::timestamp),
                                 span.last_day::timestamp, ('1 ' || p_granularity)::interval) b
), sale_point AS (
    SELECT date_trunc(p_granularity, day::timestamp) AS bucket, sum(revenue) AS revenue,
           sum(purchases) AS purchases
      FROM sale_day GROUP BY 1
), visit_point AS (
    SELECT v.bucket, v.sessions - coalesce(o.sessions, 0) AS visitors
      FROM (SELECT date_trunc(p_granularity, day::timestamp) AS bucket, sum(sessions) AS sessions
              FROM visit_day WHERE branch_id IS NOT DISTINCT FROM p_location_id GROUP BY 1) v
      LEFT JOIN overcount o ON o.scope = 'point' AND o.bucket = v.bucket
)
SELECT jsonb_build_object(
    'metrics', jsonb_build_object(
        'total_revenue', (SELECT coalesce(sum(revenue), 0) FROM sale_day),
        'purchases', (SELECT coalesce(sum(purchases), 0) FROM sale_day),
        'visitors', coalesce((SELECT visitors FROM visit_branch
                               WHERE branch_id IS NOT DISTINCT FROM p_location_id), 0),
        'unique_users', coalesce((SELECT unique_users FROM visit_branch
                                   WHERE branch_id IS NOT DISTINCT FROM p_location_id), 0),
        'abandoned_carts', (
            SELECT count(DISTINCT k.session_id)
              FROM analytics.ga4_cart_day k
             WHERE k.tenant_id = p_tenant_id
               AND k.day BETWEEN coalesce(p_start_date, '-infinity')
                             AND coalesce(p_end_date, 'infinity')
               AND (p_location_id IS NULL OR p_location_id = ANY(k.branch_ids))
               AND NOT EXISTS (SELECT 1 FROM analytics.ga4_purchase_piece p
                                WHERE p.tenant_id = p_tenant_id
                                  AND p.session_id = k.session_id)),
        'searches', (SELECT searches FROM search),
        'failed_searches', (SELECT failed FROM search),
        'repeat_visits', (SELECT coalesce(sum(visits), 0) FROM visit_user WHERE visits > 1),
        'conversion_rate', coalesce(round(100.0 * coalesce((SELECT buying FROM sale_branch
                                                             WHERE branch_id IS NOT DISTINCT
                                                                   FROM p_location_id), 0)
                                          / nullif((SELECT visitors FROM visit_branch
                                                     WHERE branch_id IS NOT DISTINCT FROM
                                                           p_location_id), 0), 2), 0)),
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
