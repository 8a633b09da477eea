CREATE OR REPLACE FUNCTION analytics.add_month_partitions(
    p_from date,
    p_to date
)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
AS $$
-- For every partitioned table of the schema: its default partition, and a partition per month
-- from p_from's month to p_to's. Rows of a new month already in the default partition move into
-- it first (attaching would fail otherwise). Idempotent; returns how many partitions it made.
DECLARE
    parent record;
    first_day date;
    part text;
    lower_bound text;
    upper_bound text;
    made integer := 0;
BEGIN
    FOR parent IN
        SELECT c.relname AS name, a.attname AS key
          FROM pg_partitioned_table p
          JOIN pg_class c ON c.oid = p.partrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0]
         WHERE n.nspname = 'analytics'
         ORDER BY c.relname
    LOOP
        IF to_regclass(format('analytics.%I', parent.name || '_default')) IS NULL THEN
            EXECUTE format('CREATE TABLE analytics.%I PARTITION OF analytics.%I DEFAULT',
                           parent.name || '_default', parent.name);
            made := made + 1;
        END IF;
        first_day := date_trunc('month', p_from)::date;
        WHILE first_day <= p_to LOOP
            part := parent.name || '_' || to_char(first_day, 'YYYY_MM');
            -- UTC midnights: the same bounds for date and timestamptz keys, whatever TimeZone is
            lower_bound := to_char(first_day, 'YYYY-MM-DD') || ' 00:00:00+00';
            upper_bound := to_char(first_day + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00';
            IF to_regclass(format('analytics.%I', part)) IS NULL THEN
                EXECUTE format(
                    'CREATE TABLE analytics.%I'
                    ' (LIKE analytics.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                    part, parent.name);
                EXECUTE format(
                    'WITH moved AS (DELETE FROM analytics.%I WHERE %I >= %L AND %I < %L'
                    ' RETURNING *) INSERT INTO analytics.%I SELECT * FROM moved',
                    parent.name || '_default', parent.key, lower_bound, parent.key, upper_bound,
                    part);
                EXECUTE format(
                    'ALTER TABLE analytics.%I ATTACH PARTITION analytics.%I'
                    ' FOR VALUES FROM (%L) TO (%L)',
                    parent.name, part, lower_bound, upper_bound);
                made := made + 1;
            END IF;
            first_day := (first_day + interval '1 month')::date;
        END LOOP;
    END LOOP;
    RETURN made;
END;
$$;
