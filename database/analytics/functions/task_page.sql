CREATE OR REPLACE FUNCTION analytics.task_page(
    p_items jsonb,
    p_total bigint,
    p_page integer,
    p_limit integer
)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
SECURITY INVOKER
AS $$
-- The GA system's page of task items, {data, total, page, limit, has_more}, where has_more is
-- page * limit < total (a page past the end has no data and has_more false).
SELECT jsonb_build_object(
           'data', coalesce(p_items, '[]'::jsonb),
           'total', p_total,
           'page', p_page,
           'limit', p_limit,
           'has_more', p_page::bigint * p_limit < p_total);
$$;
