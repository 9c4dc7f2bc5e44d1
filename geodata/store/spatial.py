"""PostGIS when the server has it, plain columns otherwise.

On PostgreSQL with the PostGIS extension available, :func:`ensure_postgis`
(run by migration 0002, and again safely at any time, e.g. after PostGIS was
installed on a server migrated without it) adds

* ``places.geom``  ``geometry(Point, 4326)`` generated from ``lon``/``lat``
* ``areas.geom``   ``geometry(Geometry, 4326)`` generated from ``geom_wkb``

both ``GENERATED ALWAYS … STORED`` (PostgreSQL keeps them in step with the plain
columns: no code writes them) and GiST-indexed. The queries in
:mod:`geodata.store.areas` use them when :func:`has_postgis` says they are
there, and the plain ``lon``/``lat`` and bounding-box columns (plus Shapely for
the exact test) otherwise, so SQLite and PostgreSQL without PostGIS answer the same.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

_DDL = [
    "ALTER TABLE places ADD COLUMN IF NOT EXISTS geom geometry(Point, 4326) "
    "GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED",
    "CREATE INDEX IF NOT EXISTS ix_places_geom ON places USING gist (geom)",
    "ALTER TABLE areas ADD COLUMN IF NOT EXISTS geom geometry(Geometry, 4326) "
    "GENERATED ALWAYS AS (ST_GeomFromWKB(geom_wkb, 4326)) STORED",
    "CREATE INDEX IF NOT EXISTS ix_areas_geom ON areas USING gist (geom)",
]


def postgis_available(conn) -> bool:
    """True when ``conn`` is PostgreSQL and the server has the PostGIS extension installed or installable."""
    if conn.dialect.name != "postgresql":
        return False
    return bool(conn.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")).scalar())


def ensure_postgis(conn) -> bool:
    """Create the extension (if allowed) and the ``geom`` columns and indexes; True when done.

    False (and nothing changed) on SQLite, on a server without PostGIS, or when this
    role may not create the extension (then ask the database owner to run
    ``CREATE EXTENSION postgis`` and call this again)."""
    if not postgis_available(conn):
        return False
    try:
        with conn.begin_nested():
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    except DBAPIError:
        return False
    for stmt in _DDL:
        conn.execute(text(stmt))
    _HAS.clear()
    return True


_HAS: dict = {}


def has_postgis(conn) -> bool:
    """True when the ``places.geom`` column exists (cached per database URL)."""
    if conn.dialect.name != "postgresql":
        return False
    key = str(conn.engine.url)
    if key not in _HAS:
        _HAS[key] = bool(conn.execute(text(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = 'places' AND column_name = 'geom'")).scalar())
    return _HAS[key]
