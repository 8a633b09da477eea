CREATE OR REPLACE FUNCTION analytics.signal_detect_spikes(
    p_tenant_id uuid,
    p_kind text,
    p_as_of date,
    p_now timestamptz DEFAULT now(),
    p_quiet interval DEFAULT interval '24 hours'
)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
AS $$
-- Raises a spike alert for each series of a kind with a spike on p_as_of or the day before
-- (signal_spikes; the later when both), unless the series had a spike alert detected within
-- p_quiet before p_now, or one for that same day (a point is alerted once). value is the
-- point's, threshold mean + 2 sd; detail holds mean, sd and history_days. Returns the alerts
-- made. Runs one at a time per tenant (an advisory lock), as signal_store_momentum does.
#variable_conflict use_column
DECLARE
    raised integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('analytics.signals/' || p_tenant_id, 0));
    INSERT INTO analytics.signal_alert (
        tenant_id, alert_id, series_kind, series_key, kind, series_day, value, threshold, detail,
        detected_at)
    SELECT DISTINCT ON (s.series_key)
           p_tenant_id, gen_random_uuid(), p_kind, s.series_key, 'spike', s.day, s.value,
           s.threshold,
           jsonb_build_object('mean', s.mean, 'sd', s.sd, 'history_days', s.history_days),
           p_now
      FROM analytics.signal_spikes(p_tenant_id, p_kind, p_as_of) s
     WHERE s.spike
       AND NOT EXISTS (
           SELECT FROM analytics.signal_alert a
            WHERE a.tenant_id = p_tenant_id AND a.series_kind = p_kind
              AND a.series_key = s.series_key AND a.kind = 'spike'
              AND (a.series_day = s.day OR a.detected_at > p_now - p_quiet))
     ORDER BY s.series_key, s.day DESC;
    GET DIAGNOSTICS raised = ROW_COUNT;
    RETURN raised;
END;
$$;
