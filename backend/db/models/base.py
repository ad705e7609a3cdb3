"""Declarative base shared by every model (advanced-alchemy's UUID + audit columns)."""

from advanced_alchemy.base import UUIDAuditBase, orm_registry
from sqlalchemy import JSON
from sqlalchemy.dialects.postgresql import JSONB

Base = UUIDAuditBase
metadata = orm_registry.metadata

Json = JSON().with_variant(JSONB(), "postgresql")
"""JSON column, JSONB on PostgreSQL (advanced-alchemy's JsonB does not load under SQLAlchemy 2.1)."""

__all__ = ["Base", "Json", "metadata"]
