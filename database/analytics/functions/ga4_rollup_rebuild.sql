CREATE OR REPLACE FUNCTION analytics.ga4_rollup_rebuild(
    p_tenant_id uuid
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
AS $$
-- Every rollup of a tenant made again from its current GA4 pulls: how the migration that
-- brought the rollups filled them, and a repair. Swaps of the tenant's data types wait
-- meanwhile (ga4_rollup_lock, taken in data type order).
DECLARE
    kind record;
BEGIN
    PERFORM analytics.ga4_rollup_lock(p_tenant_id, t)
       FROM (SELECT DISTINCT data_type AS t FROM analytics.ga4_current_day
              WHERE tenant_id = p_tenant_id ORDER BY 1) types;
    DELETE FROM analytics.ga4_day_total WHERE tenant_id = p_tenant_id;
    DELETE FROM analytics.ga4_visit_day WHERE tenant_id = p_tenant_id;
    DELETE FROM analytics.ga4_visitor_days WHERE tenant_id = p_tenant_id;
    DELETE FROM analytics.ga4_purchase_piece WHERE tenant_id = p_tenant_id;
    DELETE FROM analytics.ga4_sale_day WHERE tenant_id = p_tenant_id;
    DELETE FROM analytics.ga4_cart_day WHERE tenant_id = p_tenant_id;
    FOR kind IN
        SELECT data_type, min(day) AS first_day, max(day) AS last_day, array_agg(pull_id) AS pulls
          FROM analytics.ga4_current_day
         WHERE tenant_id = p_tenant_id
         GROUP BY data_type
         ORDER BY data_type
    LOOP
        PERFORM analytics.ga4_rollup(p_tenant_id, kind.data_type, kind.first_day, kind.last_day,
                                     '{}', kind.pulls);
    END LOOP;
END;
$$;
