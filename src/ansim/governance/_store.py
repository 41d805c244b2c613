"""The governance metadata store: SQLAlchemy 2 over SQLite (default) or PostgreSQL."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ansim.errors import InvalidSpecError
from ansim.governance._tables import metadata

__all__ = ["MetadataStore"]


def _migrations() -> tuple[Config, ScriptDirectory]:
    config = Config()
    location = resources.files("ansim.governance").joinpath("migrations")
    config.set_main_option("script_location", str(location))
    return config, ScriptDirectory.from_config(config)


class MetadataStore:
    """Projects, roles, approvals, keys (wrapped) and the audit chain, in one SQL database.

    Opening a store brings its schema to the newest Alembic revision shipped with Ansim.
    SQLite connections use ``secure_delete`` so that a destroyed key's bytes are overwritten,
    not left in free pages, and write-ahead logging.

    Args:
        url: A SQLAlchemy URL (``sqlite:///path`` or ``postgresql+psycopg://…``).

    Example:
        >>> store = MetadataStore("sqlite://")
        >>> store.revision()
        '0006_twin_kind'
        >>> store.close()
    """

    def __init__(self, url: str) -> None:
        try:
            self.engine = sa.create_engine(url)
        except (sa.exc.ArgumentError, ImportError) as e:
            raise InvalidSpecError(
                "the metadata store URL is not a usable SQLAlchemy URL (sqlite:///… or "
                "postgresql+psycopg://…; PostgreSQL needs the 'postgres' extra)"
            ) from e
        self.dialect = self.engine.dialect.name
        if self.dialect == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self.upgrade()

    @classmethod
    def sqlite(cls, path: Path) -> MetadataStore:
        """A store in a SQLite file (created with its directory if missing)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite:///{path}")

    def upgrade(self) -> None:
        """Apply every migration not yet applied (idempotent)."""
        config, script = _migrations()

        def fn(rev: Any, context: Any) -> Any:
            return script._upgrade_revs("head", rev)  # as alembic's own command

        with (
            self.engine.begin() as connection,
            EnvironmentContext(config, script, fn=fn, destination_rev="head") as env,
        ):
            env.configure(connection=connection, target_metadata=metadata)
            with env.begin_transaction():
                env.run_migrations()

    def revision(self) -> str | None:
        """The schema revision the database is at."""
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def flush(self) -> None:
        """Move SQLite's write-ahead log into the database file and empty it.

        After a key is destroyed this leaves no old copy of its page in the log or the file
        (``secure_delete`` overwrote it). PostgreSQL needs ``VACUUM`` for the same; not run here.
        """
        if self.dialect == "sqlite":
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA secure_delete = ON")
    # one fsync per commit instead of several: every governance action commits on its own
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()
