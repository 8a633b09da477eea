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
    SELECT upper(c.campaign) AS campaign, sum(c.revenue_usd) AS revenue
      FROM analytics.pipeline_purchases(
               p_tenant_id, (p_as_of - 1)::timestamp AT TIME ZONE 'UTC',
               p_as_of::timestamp AT TIME ZONE 'UTC', p_run_id) c
     WHERE c.campaign IS NOT NULL
     GROUP BY 1
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
