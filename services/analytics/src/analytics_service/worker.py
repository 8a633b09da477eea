"""``python -m analytics_service.worker``: analytics' job queue and schedules."""

from analytics_service.jobs import main

if __name__ == "__main__":
    main()
