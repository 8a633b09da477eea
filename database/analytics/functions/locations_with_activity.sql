CREATE OR REPLACE FUNCTION analytics.locations_with_activity(
    p_tenant_id uuid,
    p_start_date date,
    p_end_date date
)
RETURNS jsonb
LANGUAGE sql
STABLE
SECURITY INVOKER
AS $$
-- Active locations (GA seed's get_locations_with_activity_table), {data}, by branch id. The
-- tenant's active branches having at least one page view in the current pulls with a day
-- within the bounds (inclusive, either optional); page_views sums them.
SELECT jsonb_build_object('data', coalesce(jsonb_agg(jsonb_build_object(
           'location_id', b.branch_id,
           'location_name', b.name,
           'city', b.city,
           'state', b.state,
           'page_views', v.page_views) ORDER BY b.branch_id), '[]'::jsonb))
  FROM analytics.branch b
  JOIN (SELECT pv.branch_id, sum(pv.screen_page_views)::bigint AS page_views
          FROM analytics.ga4_page_view pv
          JOIN analytics.ga4_current_pulls(p_tenant_id, 'page_views') c
            ON c.day = pv.day AND c.pull_id = pv.pull_id
         WHERE pv.tenant_id = p_tenant_id
           AND pv.day BETWEEN coalesce(p_start_date, '-infinity')
                          AND coalesce(p_end_date, 'infinity')
         GROUP BY pv.branch_id) v ON v.branch_id = b.branch_id
 WHERE b.tenant_id = p_tenant_id AND b.active;
$$;
