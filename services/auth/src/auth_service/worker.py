"""``python -m auth_service.worker``: auth's job queue and schedules."""

from auth_service.jobs import main

if __name__ == "__main__":
    main()
