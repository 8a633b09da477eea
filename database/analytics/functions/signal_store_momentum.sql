CREATE OR REPLACE FUNCTION analytics.signal_store_momentum(
    p_tenant_id uuid,
    p_kind text,
    p_as_of date,
    p_now timestamptz DEFAULT now(),
    p_quiet interval DEFAULT interval '24 hours'
)
RETURNS TABLE (stored integer, alerts integer)
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
AS $$
-- Keeps each series' momentum as of p_as_of (signal_momentum) in series_signal, replacing an
-- earlier computation of that day, and raises a status_change alert for a series whose status
-- differs from the one of its latest earlier day (neither being insufficient_data). value is
-- the new index; threshold the bound crossed (the new status's lower bound going up, the old
-- one's going down). No alert is made for a series that had a status_change alert detected
-- within p_quiet before p_now, or one for this same day. The tenant's signal work runs one
-- at a time (an advisory lock), so two runs cannot both make an alert.
#variable_conflict use_column
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('analytics.signals/' || p_tenant_id, 0));
    WITH m AS (
        SELECT * FROM analytics.signal_momentum(p_tenant_id, p_kind, p_as_of)
    ), kept AS (
        INSERT INTO analytics.series_signal AS x (
            tenant_id, series_kind, series_key, as_of, week_0, week_1, week_2, velocity,
            acceleration, consistency, viral, momentum_index, momentum_status, momentum_at)
        SELECT p_tenant_id, p_kind, m.series_key, p_as_of, m.week_0, m.week_1, m.week_2,
               m.velocity, m.acceleration, m.consistency, m.viral, m.momentum_index, m.status,
               p_now
          FROM m
        ON CONFLICT (tenant_id, series_kind, series_key, as_of) DO UPDATE
           SET week_0 = excluded.week_0, week_1 = excluded.week_1, week_2 = excluded.week_2,
               velocity = excluded.velocity, acceleration = excluded.acceleration,
               consistency = excluded.consistency, viral = excluded.viral,
               momentum_index = excluded.momentum_index,
               momentum_status = excluded.momentum_status, momentum_at = excluded.momentum_at
        RETURNING 1
    ), bound (status, rank, bound) AS (
        VALUES ('declining', 0, 0), ('stable', 1, 3), ('growing', 2, 5),
               ('rapid_growth', 3, 7), ('viral', 4, 9)
    ), changed AS (
        SELECT m.series_key, m.status, m.momentum_index, prev.as_of AS prev_as_of,
               prev.momentum_status AS prev_status, prev.momentum_index AS prev_index,
               CASE WHEN nb.rank > ob.rank THEN nb.bound ELSE ob.bound END AS crossed,
               CASE WHEN nb.rank > ob.rank THEN 'up' ELSE 'down' END AS direction
          FROM m
          JOIN LATERAL (
              SELECT x.as_of, x.momentum_status, x.momentum_index
                FROM analytics.series_signal x
               WHERE x.tenant_id = p_tenant_id AND x.series_kind = p_kind
                 AND x.series_key = m.series_key AND x.as_of < p_as_of
                 AND x.momentum_status IS NOT NULL
               ORDER BY x.as_of DESC
               LIMIT 1) prev ON true
          JOIN bound nb ON nb.status = m.status
          JOIN bound ob ON ob.status = prev.momentum_status
         WHERE nb.rank <> ob.rank
    ), raised AS (
        INSERT INTO analytics.signal_alert (
            tenant_id, alert_id, series_kind, series_key, kind, series_day, value, threshold,
            detail, detected_at)
        SELECT p_tenant_id, gen_random_uuid(), p_kind, c.series_key, 'status_change', p_as_of,
               c.momentum_index, c.crossed,
               jsonb_build_object('from', c.prev_status, 'to', c.status,
                                  'direction', c.direction, 'previous_as_of', c.prev_as_of,
                                  'previous_index', c.prev_index),
               p_now
          FROM changed c
         WHERE NOT EXISTS (
               SELECT FROM analytics.signal_alert a
                WHERE a.tenant_id = p_tenant_id AND a.series_kind = p_kind
                  AND a.series_key = c.series_key AND a.kind = 'status_change'
                  AND (a.series_day = p_as_of OR a.detected_at > p_now - p_quiet))
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM kept), (SELECT count(*) FROM raised) INTO stored, alerts;
    RETURN NEXT;
END;
$$;
