CREATE OR REPLACE FUNCTION analytics.signal_store_scores(
    p_tenant_id uuid,
    p_kind text,
    p_as_of date,
    p_now timestamptz DEFAULT now()
)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
AS $$
-- Keeps each series' value score as of p_as_of (signal_value_score) in series_signal,
-- replacing an earlier computation of that day; returns how many series were scored.
#variable_conflict use_column
DECLARE
    stored integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('analytics.signals/' || p_tenant_id, 0));
    INSERT INTO analytics.series_signal AS x (
        tenant_id, series_kind, series_key, as_of, window_total, active_days, engagement,
        growth, reach, conversion, value_score, scored_at)
    SELECT p_tenant_id, p_kind, v.series_key, p_as_of, v.window_total, v.active_days,
           v.engagement, v.growth, v.reach, v.conversion, v.value_score, p_now
      FROM analytics.signal_value_score(p_tenant_id, p_kind, p_as_of) v
    ON CONFLICT (tenant_id, series_kind, series_key, as_of) DO UPDATE
       SET window_total = excluded.window_total, active_days = excluded.active_days,
           engagement = excluded.engagement, growth = excluded.growth, reach = excluded.reach,
           conversion = excluded.conversion, value_score = excluded.value_score,
           scored_at = excluded.scored_at;
    GET DIAGNOSTICS stored = ROW_COUNT;
    RETURN stored;
END;
$$;
