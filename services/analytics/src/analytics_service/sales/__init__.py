"""Sales tasks and dashboards: the GA system's task lists, dashboard and histories, each one SQL
function over the warehouse's GA4 tables (current pulls only) and customer dimensions."""
