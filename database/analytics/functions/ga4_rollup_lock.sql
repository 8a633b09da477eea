CREATE OR REPLACE FUNCTION analytics.ga4_rollup_lock(
    p_tenant_id uuid,
    p_data_type text
)
RETURNS void
LANGUAGE sql
VOLATILE
SECURITY INVOKER
AS $$
-- Waits for, then holds until the transaction ends, the right to change the current pulls of a
-- tenant's GA4 data type and their rollups (ga4_complete_pull, ga4_rollup_rebuild), so two
-- swaps of one data type never make its rollups from what the other has not committed yet.
SELECT pg_advisory_xact_lock(
    hashtextextended(format('ga4_rollup %s %s', p_tenant_id, p_data_type), 0));
$$;
