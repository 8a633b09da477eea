"""The marketing pipeline: the gaming backend's curation, reconciliation, ROAS, anomaly and
ARPDAU reports over the warehouse, run per tenant as a job and kept per run."""
