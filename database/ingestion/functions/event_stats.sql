CREATE OR REPLACE FUNCTION ingestion.event_stats(
    p_tenant_id uuid,
    p_limit integer,
    p_offset integer
)
RETURNS TABLE (event_type text, event_count bigint, total bigint)
LANGUAGE sql
STABLE
SECURITY INVOKER
AS $$
-- One page of a tenant's event counts per type, most frequent first (ties by type, byte order),
-- and the number of types in total. The total rides on every row; a page past the end is one
-- row with a NULL type, so the total is known even then.
WITH counts AS (
    SELECT e.event_type, count(*) AS n
      FROM ingestion.event e
     WHERE e.tenant_id = p_tenant_id
     GROUP BY e.event_type
), page AS (
    SELECT c.event_type, c.n
      FROM counts c
     ORDER BY c.n DESC, c.event_type COLLATE "C"
     LIMIT p_limit OFFSET p_offset
)
SELECT p.event_type::text, p.n, t.total
  FROM (SELECT count(*) AS total FROM counts) t
  LEFT JOIN page p ON true
 ORDER BY p.n DESC NULLS LAST, p.event_type COLLATE "C";
$$;
