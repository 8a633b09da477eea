CREATE OR REPLACE FUNCTION ingestion.uuid3(
    p_namespace uuid,
    p_name text
)
RETURNS uuid
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SECURITY INVOKER
AS $$
-- The name-based UUID of RFC 9562 (version 3, the MD5 of the namespace's 16 bytes and the name in
-- UTF-8), equal to Python's uuid.uuid3(namespace, name). Uploaded rows get their fact ids from
-- it, so the same row always makes the same fact (uuid5 would need SHA-1, which PostgreSQL
-- has only through pgcrypto).
SELECT (substr(h, 1, 12) || '3' || substr(h, 14, 3)
        || substr('89ab89ab89ab89ab', ('x' || substr(h, 17, 1))::bit(4)::integer + 1, 1)
        || substr(h, 18))::uuid
  FROM (SELECT md5(uuid_send(p_namespace) || convert_to(p_name, 'UTF8')) AS h) AS digest;
$$;
