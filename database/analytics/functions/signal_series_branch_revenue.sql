CREATE OR REPLACE FUNCTION analytics.signal_series_branch_revenue(
    p_tenant_id uuid,
    p_from date,
    p_to date,
    p_conversion boolean DEFAULT true
)
RETURNS TABLE (series_key text, day date, value numeric, converted numeric, base numeric)
LANGUAGE sql
STABLE
SECURITY INVOKER
AS $$
-- Branch revenue per day (the GA4 property's) of [p_from, p_to], the purchase revenue of the
-- current pulls' purchase rows by their branch_id (rows without one count nowhere). Converted
-- = the sessions with a purchase at the branch that day; base = its sessions with a page view
-- (both 0, and the page views not read, unless p_conversion).
WITH sale AS (
    SELECT p.day, p.branch_id, sum(p.purchase_revenue) AS revenue,
           count(DISTINCT p.session_id) FILTER (WHERE p_conversion) AS sessions
      FROM analytics.ga4_purchase p
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'purchases') c
        ON c.day = p.day AND c.pull_id = p.pull_id
     WHERE p.tenant_id = p_tenant_id
       AND p.day BETWEEN p_from AND p_to
       AND p.branch_id IS NOT NULL
     GROUP BY p.day, p.branch_id
), visit AS (
    SELECT v.day, v.branch_id, count(DISTINCT v.session_id) AS sessions
      FROM analytics.ga4_page_view v
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'page_views') c
        ON c.day = v.day AND c.pull_id = v.pull_id
     WHERE p_conversion
       AND v.tenant_id = p_tenant_id
       AND v.day BETWEEN p_from AND p_to
       AND v.branch_id IS NOT NULL
     GROUP BY v.day, v.branch_id
)
SELECT branch_id, day, coalesce(s.revenue, 0), coalesce(s.sessions, 0)::numeric,
       coalesce(v.sessions, 0)::numeric
  FROM sale s
  FULL JOIN visit v USING (day, branch_id);
$$;
