"""The governance fixtures (SQLite and a throwaway PostgreSQL) for the privacy tests."""

from __future__ import annotations

from tests.unit.governance.conftest import postgres_server, store_url

__all__ = ["postgres_server", "store_url"]
