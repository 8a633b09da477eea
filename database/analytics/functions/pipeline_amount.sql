CREATE OR REPLACE FUNCTION analytics.pipeline_amount(p_text text)
RETURNS numeric
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SECURITY INVOKER
AS $$
-- A revenue as the gaming backend's files write it, with `,` or `.` before the decimals
-- (12,50 = 12.50), to the millionth; anything else (empty, text, a thousands separator, NaN, an
-- exponent, 15 or more integer digits) is 0, as the seed counted it.
SELECT CASE
    WHEN btrim(p_text) ~ '^[+-]?([0-9]{1,14}([.,][0-9]*)?|[.,][0-9]+)$'
    THEN round(replace(btrim(p_text), ',', '.')::numeric, 6)
    ELSE 0
END;
$$;
