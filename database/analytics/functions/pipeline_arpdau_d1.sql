CREATE OR REPLACE FUNCTION analytics.pipeline_arpdau_d1(
    p_tenant_id uuid,
    p_as_of date,
    p_run_id uuid DEFAULT NULL
)
RETURNS TABLE (
    date date,
    campaign text,
    revenue numeric,
    dau bigint,
    arpdau numeric
)
LANGUAGE sql
STABLE
SECURITY INVOKER
AS $$
-- arpdau_d1.json, per campaign with purchases on D-1 (the day before p_as_of, UTC), its curated
-- revenue over DAU, the distinct users with a session event that day (all of the tenant's,
-- sessions carry no campaign); 0 when no one had a session. With p_run_id, of the purchases that
-- run curated.
WITH revenue AS (
    SELECT r.campaign, r.revenue
      FROM analytics.pipeline_daily_revenue(p_tenant_id, p_as_of - 1, p_as_of - 1, p_run_id) r
), active AS (
    SELECT count(DISTINCT s.user_id) AS dau
      FROM analytics.session_event s
     WHERE s.tenant_id = p_tenant_id
       AND s.event_timestamp_utc >= (p_as_of - 1)::timestamp AT TIME ZONE 'UTC'
       AND s.event_timestamp_utc < p_as_of::timestamp AT TIME ZONE 'UTC'
)
SELECT p_as_of - 1,
       r.campaign,
       trim_scale(r.revenue),
       a.dau,
       CASE WHEN a.dau > 0 THEN trim_scale(round(r.revenue / a.dau, 6)) ELSE 0 END
  FROM revenue r
 CROSS JOIN active a;
$$;
