"""``python -m ingestion_service.worker``: ingestion's job queue and schedules."""

from ingestion_service.jobs import main

if __name__ == "__main__":
    main()
