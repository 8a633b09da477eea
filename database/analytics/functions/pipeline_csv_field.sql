CREATE OR REPLACE FUNCTION analytics.pipeline_csv_field(p_text text)
RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SECURITY INVOKER
AS $$
-- A CSV field (RFC 4180), in double quotes its own doubled, when it holds a comma, a double quote
-- or a line break; none (empty) for null.
SELECT CASE
    WHEN p_text ~ '[",\r\n]' THEN '"' || replace(p_text, '"', '""') || '"'
    ELSE coalesce(p_text, '')
END;
$$;
