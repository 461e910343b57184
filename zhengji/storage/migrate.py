"""Schema migrations with Alembic, run from code so that no ``alembic.ini`` has to sit beside the data."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from zhengji.storage.locks import lock_key

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = "schema migration"
"""The advisory lock (PostgreSQL) that lets one instance at a time migrate a database several instances share."""


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Alembic interpolates %-signs in options; a password may hold one.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision``, creating it from empty if need be.

    SQLite alters a table by copying it (Alembic's batch mode), and with foreign keys on it refuses to drop a
    table that others refer to; so, as SQLite's documentation prescribes, foreign keys are off while the
    migration runs and checked before it commits.
    """
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            _outside_transaction(connection, "PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                if engine.dialect.name == "postgresql":
                    # Instances that start together (two machines booting, systemd restarting both) would each
                    # create the same tables and all but one fail; the first migrates, the others wait here and
                    # then find the schema at head. Freed with the transaction, or when its session dies.
                    connection.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (lock_key(MIGRATION_LOCK),))
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration to {revision} broke foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                _outside_transaction(connection, "PRAGMA foreign_keys=ON")


def _outside_transaction(connection: Connection, pragma: str) -> None:
    """Run a PRAGMA on the driver connection: SQLAlchemy would begin a transaction, where it has no effect."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(pragma)
    finally:
        cursor.close()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
