"""The app database for the site: one engine per app, migrated at start.

All tables belong to :mod:`geodata.store` (accounts, visits, problems); this
module only picks the URL, runs the Alembic migrations and hands out
sessions. Configuration (see :func:`web.create_app`):

``DATABASE_URL``      SQLAlchemy URL or a file path; default: ``zoufang.sqlite``
                      next to ``CAMPAIGN_PATH``, else an in-memory SQLite database
``DATABASE_MIGRATE``  run the migrations at start (default True)
``CAMPAIGN_KEY``      the campaign's row in the database (default: the campaign's name)
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from flask import Flask, current_app

from geodata import store

_EXTENSION = "zoufang.db"
MEMORY_URL = "sqlite:///:memory:"


def default_url(config) -> str:
    """``zoufang.sqlite`` beside the campaign file, or in memory without one."""
    path = config.get("CAMPAIGN_PATH")
    if path:
        return "sqlite:///" + str(Path(path).resolve().with_name("zoufang.sqlite"))
    return MEMORY_URL


def init_app(app: Flask) -> None:
    url = store.normalise_url(app.config.get("DATABASE_URL") or default_url(app.config))
    app.config["DATABASE_URL"] = url
    engine = store.make_engine(url)
    if app.config.get("DATABASE_MIGRATE", True):
        store.upgrade(engine)
    app.extensions[_EXTENSION] = {"engine": engine, "campaign_id": None}


def engine(app: Flask | None = None):
    app = app or current_app._get_current_object()
    return app.extensions[_EXTENSION]["engine"]


@contextmanager
def session(app: Flask | None = None):
    """A session in one transaction (committed at the end, rolled back on error)."""
    with store.session_scope(engine(app)) as s:
        yield s


def campaign_key(app: Flask | None = None) -> str:
    app = app or current_app._get_current_object()
    key = app.config.get("CAMPAIGN_KEY")
    if key:
        return str(key)
    from web.data import get_data

    return str(get_data(app).name)


def campaign_id(app: Flask | None = None) -> int:
    """The id of this site's campaign row (created on first use)."""
    app = app or current_app._get_current_object()
    slot = app.extensions[_EXTENSION]
    if slot["campaign_id"] is None:
        key = campaign_key(app)
        with session(app) as s:
            slot["campaign_id"] = store.ensure_campaign(s, key, name=key).id
    return slot["campaign_id"]
