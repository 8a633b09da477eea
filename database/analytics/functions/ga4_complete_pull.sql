CREATE OR REPLACE FUNCTION analytics.ga4_complete_pull(
    p_tenant_id uuid,
    p_pull_id uuid
)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
AS $$
-- A GA4 pull whose day fact and every part are in becomes the current pull of its day (tenant,
-- connection, data type, day), and the rows of the pull it replaces are deleted; a pull whole
-- only after a newer one of its day is current is stale, and its own rows are deleted. Called
-- after each fact of a pull is stored, in that transaction, so the order the facts arrive in
-- does not matter. The day's rollups (ga4_rollup) change with its current pulls, in the same
-- transaction. Returns the pull's status: staged, current, replaced or stale.
DECLARE
    pull analytics.ga4_pull%ROWTYPE;
    current_day analytics.ga4_current_day%ROWTYPE;
    old_table text;
    whole boolean;
    others uuid[];  -- the day's current pulls of the data type's other connections
BEGIN
    SELECT * INTO pull FROM analytics.ga4_pull
     WHERE tenant_id = p_tenant_id AND pull_id = p_pull_id
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF pull.status <> 'staged' OR pull.pulled_at IS NULL THEN
        RETURN pull.status;  -- already swapped, or its day fact has not come yet
    END IF;
    SELECT count(*) >= pull.parts INTO whole FROM analytics.ga4_pull_part
     WHERE tenant_id = p_tenant_id AND pull_id = p_pull_id;
    IF NOT whole THEN
        RETURN 'staged';
    END IF;

    PERFORM analytics.ga4_rollup_lock(p_tenant_id, pull.data_type);
    SELECT coalesce(array_agg(pull_id), '{}') INTO others FROM analytics.ga4_current_day
     WHERE tenant_id = p_tenant_id AND data_type = pull.data_type AND day = pull.day
       AND connection_id <> pull.connection_id;

    -- The first pull of the day takes it at once; otherwise lock the day and compare.
    INSERT INTO analytics.ga4_current_day
        (tenant_id, connection_id, data_type, day, pull_id, pulled_at, swapped_at)
    VALUES (p_tenant_id, pull.connection_id, pull.data_type, pull.day, p_pull_id, pull.pulled_at,
            clock_timestamp())
    ON CONFLICT (tenant_id, connection_id, data_type, day) DO NOTHING;
    IF FOUND THEN
        PERFORM analytics.ga4_rollup(p_tenant_id, pull.data_type, pull.day, pull.day, others,
                                     others || p_pull_id);
        UPDATE analytics.ga4_pull SET status = 'current', swapped_at = clock_timestamp()
         WHERE tenant_id = p_tenant_id AND pull_id = p_pull_id;
        RETURN 'current';
    END IF;
    SELECT * INTO current_day FROM analytics.ga4_current_day
     WHERE tenant_id = p_tenant_id AND connection_id = pull.connection_id
       AND data_type = pull.data_type AND day = pull.day
       FOR UPDATE;

    IF (current_day.pulled_at, current_day.pull_id) > (pull.pulled_at, pull.pull_id) THEN
        EXECUTE format('DELETE FROM analytics.%I WHERE tenant_id = $1 AND day = $2'
                       ' AND pull_id = $3', pull.row_table)
            USING p_tenant_id, pull.day, p_pull_id;
        UPDATE analytics.ga4_pull SET status = 'stale', swapped_at = clock_timestamp()
         WHERE tenant_id = p_tenant_id AND pull_id = p_pull_id;
        RETURN 'stale';
    END IF;

    -- while the replaced pull's rows are still there: what the day's rollups counted
    PERFORM analytics.ga4_rollup(p_tenant_id, pull.data_type, pull.day, pull.day,
                                 others || current_day.pull_id, others || p_pull_id);
    SELECT row_table INTO old_table FROM analytics.ga4_pull
     WHERE tenant_id = p_tenant_id AND pull_id = current_day.pull_id;
    EXECUTE format('DELETE FROM analytics.%I WHERE tenant_id = $1 AND day = $2'
                   ' AND pull_id = $3', old_table)
        USING p_tenant_id, pull.day, current_day.pull_id;
    UPDATE analytics.ga4_pull SET status = 'replaced', swapped_at = clock_timestamp()
     WHERE tenant_id = p_tenant_id AND pull_id = current_day.pull_id;
    UPDATE analytics.ga4_current_day
       SET pull_id = p_pull_id, pulled_at = pull.pulled_at, swapped_at = clock_timestamp()
     WHERE tenant_id = p_tenant_id AND connection_id = pull.connection_id
       AND data_type = pull.data_type AND day = pull.day;
    UPDATE analytics.ga4_pull SET status = 'current', swapped_at = clock_timestamp()
     WHERE tenant_id = p_tenant_id AND pull_id = p_pull_id;
    RETURN 'current';
END;
$$;
