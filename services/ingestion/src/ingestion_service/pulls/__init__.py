"""GA4 ingest jobs (start, follow, cancel; the daily schedule), the pull itself, report
definitions and data availability."""
