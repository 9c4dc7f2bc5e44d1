"""Alembic migrations run from Python: ``upgrade(url)`` brings a database to
the newest schema (creating it when empty); no ``alembic.ini`` is needed."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from geodata.store.engine import make_engine, normalise_url

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(url_or_engine: str | Path | Engine, revision: str = "head") -> None:
    """Migrate the database at ``url_or_engine`` to ``revision`` (default: the newest)."""
    engine = url_or_engine if isinstance(url_or_engine, Engine) else make_engine(url_or_engine)
    cfg = alembic_config()
    try:
        with engine.connect() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            conn.commit()
    finally:
        if engine is not url_or_engine:
            engine.dispose()


def current(url_or_engine: str | Path | Engine) -> str | None:
    """The database's revision (``None`` for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    engine = url_or_engine if isinstance(url_or_engine, Engine) else make_engine(url_or_engine)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        if engine is not url_or_engine:
            engine.dispose()
