"""Persistence: declarative models (one module per aggregate) and Alembic migrations."""
