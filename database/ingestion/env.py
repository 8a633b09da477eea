"""Alembic environment of the ingestion schema (run through scripts/migrate.py or make db_setup)."""

from alembic import context

from common.migrations import run_env, sql_functions
from ingestion_service.models import Base

run_env(context, Base.metadata, sql_functions("ingestion"))
