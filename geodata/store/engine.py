"""Engines for the app database: SQLite (embedded default, WAL) or PostgreSQL.

``make_engine(url)`` sets SQLite up for many writers: write-ahead log (WAL)
so readers never block the writer, a busy timeout instead of "database is
locked", foreign keys on, and ``BEGIN IMMEDIATE`` for every transaction so two
writers never deadlock on a read lock each wants to upgrade (they queue on
the busy timeout instead). PostgreSQL URLs use psycopg 3
(``postgresql+psycopg://``); a bare ``postgresql://`` is read as that.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

#: where ``zoufang serve`` / ``zoufang report`` find the database when no --db is given
ENV_URL = "ZOUFANG_DATABASE_URL"
DEFAULT_FILE = "zoufang.sqlite"


def default_url() -> str:
    """``$ZOUFANG_DATABASE_URL``, else ``sqlite:///zoufang.sqlite`` in the working folder."""
    return os.environ.get(ENV_URL) or f"sqlite:///{DEFAULT_FILE}"


def normalise_url(url: str | Path) -> str:
    """A URL SQLAlchemy accepts: a plain file path becomes ``sqlite:///path``;
    ``postgresql://`` / ``postgres://`` get the psycopg 3 driver."""
    text = str(url)
    if "://" not in text:
        return f"sqlite:///{text}"
    if text.startswith("postgres://"):
        text = "postgresql://" + text[len("postgres://"):]
    if text.startswith("postgresql://"):
        text = "postgresql+psycopg://" + text[len("postgresql://"):]
    return text


def make_engine(url: str | Path | None = None, *, busy_timeout_ms: int = 30000, pool_size: int = 10,
                echo: bool = False) -> Engine:
    """An engine for ``url`` (default :func:`default_url`) set up as described above."""
    url = make_url(normalise_url(url or default_url()))
    if url.get_backend_name() == "sqlite":
        memory = url.database in (None, "", ":memory:")
        kwargs = {"connect_args": {"timeout": busy_timeout_ms / 1000, "check_same_thread": False}}
        if memory:
            from sqlalchemy.pool import StaticPool

            kwargs["poolclass"] = StaticPool
        else:
            kwargs.update(pool_size=pool_size, max_overflow=2 * pool_size)
        engine = create_engine(url, echo=echo, **kwargs)
        _sqlite_setup(engine, busy_timeout_ms=busy_timeout_ms, wal=not memory)
        return engine
    return create_engine(url, echo=echo, pool_size=pool_size, max_overflow=2 * pool_size, pool_pre_ping=True)


def _sqlite_setup(engine: Engine, *, busy_timeout_ms: int, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        if wal:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def is_sqlite(engine_or_session) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "sqlite"


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine):
    """A session in one transaction: committed at the end, rolled back on error."""
    with session_factory(engine)() as session, session.begin():
        yield session
