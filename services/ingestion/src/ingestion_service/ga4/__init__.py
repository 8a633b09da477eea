"""GA4: report definitions, the Data API client, access tokens from auth."""
