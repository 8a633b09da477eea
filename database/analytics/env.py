"""Alembic environment of the analytics schema (run through scripts/migrate.py or make db_setup)."""

from alembic import context

from analytics_service.models import Base
from common.migrations import run_env, sql_functions

run_env(context, Base.metadata, sql_functions("analytics"))
