"""Alembic migrations of the governance metadata store, run by ``MetadataStore.upgrade``.

There is no ``env.py``: the store runs the scripts through Alembic's ``EnvironmentContext``.
A new revision is a new ``versions/_NNNN_<what>.py`` (``script.py.mako`` is its template) whose
``down_revision`` is the previous one; ``tests/unit/governance/test_store_and_keys.py`` checks
that the migrated schema equals ``_tables.py`` on SQLite and PostgreSQL.
"""

__all__: list[str] = []
