CREATE OR REPLACE FUNCTION analytics.signal_daily_series(
    p_tenant_id uuid,
    p_kind text,
    p_from date,
    p_to date,
    p_conversion boolean DEFAULT true
)
RETURNS TABLE (series_key text, day date, value numeric, converted numeric, base numeric)
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
AS $$
-- A tenant's daily series of one kind over [p_from, p_to] (campaign_revenue, campaign_installs,
-- branch_revenue, item_views: see signal_series_<kind>), a row for every day of every series
-- whose value is not 0 on at least one of those days, days without data at 0. Momentum, value
-- scores and spikes all read their series through this; converted and base (what the value
-- score's conversion divides) are 0 unless p_conversion, which spares reading what they come
-- from. An unknown kind, or bounds out of order or over 400 days apart, is refused (22023).
#variable_conflict use_column
BEGIN
    IF p_kind IS NULL OR p_kind NOT IN ('campaign_revenue', 'campaign_installs',
                                        'branch_revenue', 'item_views') THEN
        RAISE EXCEPTION 'unknown series kind: %', p_kind USING ERRCODE = '22023';
    END IF;
    IF p_from IS NULL OR p_to IS NULL OR p_from > p_to OR p_to - p_from > 400 THEN
        RAISE EXCEPTION 'a series spans 1 to 401 days, from its first to its last'
              USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    WITH raw AS (
        SELECT r.*
          FROM analytics.signal_series_campaign_revenue(p_tenant_id, p_from, p_to) r
         WHERE p_kind = 'campaign_revenue'
        UNION ALL
        SELECT r.*
          FROM analytics.signal_series_campaign_installs(p_tenant_id, p_from, p_to, p_conversion) r
         WHERE p_kind = 'campaign_installs'
        UNION ALL
        SELECT r.*
          FROM analytics.signal_series_branch_revenue(p_tenant_id, p_from, p_to, p_conversion) r
         WHERE p_kind = 'branch_revenue'
        UNION ALL
        SELECT r.*
          FROM analytics.signal_series_item_views(p_tenant_id, p_from, p_to, p_conversion) r
         WHERE p_kind = 'item_views'
    ), keys AS (
        SELECT r.series_key FROM raw r GROUP BY r.series_key HAVING bool_or(r.value <> 0)
    )
    SELECT k.series_key, d.day, coalesce(r.value, 0),
           CASE WHEN p_conversion THEN coalesce(r.converted, 0) ELSE 0 END,
           CASE WHEN p_conversion THEN coalesce(r.base, 0) ELSE 0 END
      FROM keys k
     CROSS JOIN LATERAL (SELECT p_from + n AS day FROM generate_series(0, p_to - p_from) n) d
      LEFT JOIN raw r ON r.series_key = k.series_key AND r.day = d.day;
END;
$$;
