CREATE OR REPLACE FUNCTION analytics.signal_series_item_views(
    p_tenant_id uuid,
    p_from date,
    p_to date,
    p_conversion boolean DEFAULT true
)
RETURNS TABLE (series_key text, day date, value numeric, converted numeric, base numeric)
LANGUAGE sql
STABLE
SECURITY INVOKER
AS $$
-- Item views per day (the GA4 property's) of [p_from, p_to], items_viewed of the current
-- pulls' item-view rows by item_id. Converted = the units of the item purchased that day
-- (purchase items), 0 and not read unless p_conversion; base = its views.
WITH viewed AS (
    SELECT v.day, v.item_id, sum(v.items_viewed) AS views
      FROM analytics.ga4_view_item v
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'item_views') c
        ON c.day = v.day AND c.pull_id = v.pull_id
     WHERE v.tenant_id = p_tenant_id
       AND v.day BETWEEN p_from AND p_to
       AND v.item_id IS NOT NULL
     GROUP BY v.day, v.item_id
), bought AS (
    SELECT b.day, b.item_id, sum(b.items_purchased) AS units
      FROM analytics.ga4_purchase_item b
      JOIN analytics.ga4_current_pulls(p_tenant_id, 'purchase_items') c
        ON c.day = b.day AND c.pull_id = b.pull_id
     WHERE p_conversion
       AND b.tenant_id = p_tenant_id
       AND b.day BETWEEN p_from AND p_to
       AND b.item_id IS NOT NULL
     GROUP BY b.day, b.item_id
)
SELECT item_id, day, coalesce(v.views, 0), coalesce(b.units, 0), coalesce(v.views, 0)
  FROM viewed v
  FULL JOIN bought b USING (day, item_id);
$$;
