CREATE OR REPLACE FUNCTION analytics.ga4_current_pulls(
    p_tenant_id uuid,
    p_data_type text
)
RETURNS TABLE (day date, pull_id uuid)
LANGUAGE sql
STABLE
SECURITY INVOKER
AS $$
-- The current pull of each day of a tenant's GA4 data type, the only rows of a ga4_* table that
-- count (a pull still staged keeps its rows beside them until it is whole). Readers join it on
-- (day, pull_id); being one plain SELECT, the planner inlines it into their query.
SELECT c.day, c.pull_id
  FROM analytics.ga4_current_day c
 WHERE c.tenant_id = p_tenant_id AND c.data_type = p_data_type;
$$;
