"""The app database's tables (SQLAlchemy 2.x declarative models).

One database may hold several campaigns. Visits and problems name their
household / enterprise / village by the campaign file's ids (the campaign
GeoPackage stays the source of places; the database holds what happened).

Tables:

``campaigns``        a campaign (活动) by key, with the files it was planned from
``visits``           one visit (走访记录, 留痕) per row; ``client_id`` is the id the
                     recording phone or page generated, unique per campaign, so a
                     re-sent batch never duplicates
``entity_counters``  pre-aggregated visit counts per household / enterprise /
                     village, updated in the same transaction as each new visit
``problems``         problems raised in a visit (问题清单), with their status and owner
``problem_events``   every transition and hand-over (交办) of a problem
``accounts``         log-in accounts with a role (planner, cadre, leader, admin)
``api_tokens``       bearer tokens for phone clients (only a hash is stored)
``areas``            the campaign's counties, towns, villages and grids (WGS-84 WKB,
                     bounding box, parent), imported from the campaign file
``places``           households and enterprises: their county/town/village/grid, WGS-84
                     position and the plan's team/cadre; no personal column (names and
                     phones stay in the campaign file)
``area_counters``    pre-aggregated coverage per area (households, covered, not-home
                     backlog, visits), updated in the same transaction as each new visit
``plan_must_visits`` the plan's must-visits (必访): rule, place, cadre, team, county
``plan_stops``       the plan's schedule: one row per cadre, date and stop, in route order

On PostgreSQL with PostGIS, ``areas`` and ``places`` also get a ``geom`` column
(generated from the WKB / lon-lat, GiST-indexed; see :mod:`geodata.store.spatial`);
the models do not name it, so the same code runs on SQLite.

Times: what happened in the field (``visits.visited_at``, the problems' times and
their events) is naive wall time in the campaign's zone (Beijing time, see
:data:`geodata.store.validate.CAMPAIGN_TZ`), so reports count days as people
do; bookkeeping times (``recorded_at``, accounts, tokens) are naive UTC.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

#: Constraint names fixed so that migrations name the same things on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Now in UTC, naive (the bookkeeping columns)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class CampaignRow(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    campaign_path: Mapped[str | None] = mapped_column(String(1000))
    plan_path: Mapped[str | None] = mapped_column(String(1000))
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    #: what was imported into areas/places (hash of the campaign and plan files), and when
    import_fingerprint: Mapped[str | None] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    #: hash of the plan alone (assignment, must-visits, stops) when the importer gave one:
    #: a new plan on the same campaign then updates teams and plan rows only
    plan_fingerprint: Mapped[str | None] = mapped_column(String(64))


class Visit(Base):
    __tablename__ = "visits"
    __table_args__ = (
        UniqueConstraint("campaign_id", "client_id", name="uq_visits_campaign_client"),
        Index("ix_visits_campaign_entity", "campaign_id", "entity_type", "entity_id"),
        Index("ix_visits_campaign_cadre_time", "campaign_id", "cadre_id", "visited_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    client_id: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(16))  # household | enterprise | village
    entity_id: Mapped[str] = mapped_column(String(64))
    cadre_id: Mapped[str] = mapped_column(String(64))
    visited_at: Mapped[dt.datetime] = mapped_column(DateTime)
    outcome: Mapped[str] = mapped_column(String(16))  # visited | not_home | refused | phone
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    contact_card: Mapped[bool] = mapped_column(Boolean, default=False)  # 走访联系卡 left
    survey: Mapped[dict | None] = mapped_column(JSON)  # 入户调查表 fields
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    recorded_by: Mapped[str | None] = mapped_column(String(64))

    problems: Mapped[list["Problem"]] = relationship(back_populates="visit")


class EntityCounter(Base):
    __tablename__ = "entity_counters"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    visits: Mapped[int] = mapped_column(Integer, default=0)
    visited: Mapped[int] = mapped_column(Integer, default=0)
    phone: Mapped[int] = mapped_column(Integer, default=0)
    not_home: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Problem(Base):
    __tablename__ = "problems"
    __table_args__ = (
        UniqueConstraint("campaign_id", "client_id", name="uq_problems_campaign_client"),
        Index("ix_problems_campaign_owner", "campaign_id", "owner_cadre_id"),
        Index("ix_problems_campaign_entity", "campaign_id", "entity_type", "entity_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    client_id: Mapped[str] = mapped_column(String(64))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    entity_type: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(24))
    level: Mapped[str] = mapped_column(String(16))  # on_spot | town | department | policy
    description: Mapped[str] = mapped_column(Text)
    suggestion: Mapped[str | None] = mapped_column(Text)  # 办理意见
    status: Mapped[str] = mapped_column(String(16), default="open")
    raised_by: Mapped[str] = mapped_column(String(64))  # the visiting cadre
    owner_cadre_id: Mapped[str] = mapped_column(String(64))  # 谁走访、谁处理 until handed over
    owner_unit: Mapped[str | None] = mapped_column(String(200))  # a department or level it was handed to
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    solved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reopened: Mapped[int] = mapped_column(Integer, default=0)

    visit: Mapped[Visit | None] = relationship(back_populates="problems")
    events: Mapped[list["ProblemEvent"]] = relationship(
        back_populates="problem", order_by="ProblemEvent.id", cascade="all, delete-orphan")


class ProblemEvent(Base):
    __tablename__ = "problem_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    from_owner: Mapped[str | None] = mapped_column(String(64))
    to_owner: Mapped[str | None] = mapped_column(String(64))
    to_unit: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)

    problem: Mapped[Problem] = relationship(back_populates="events")


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))  # planner | cadre | leader | admin
    cadre_id: Mapped[str | None] = mapped_column(String(64))  # for role cadre
    display_name: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: what part of a multi-county campaign the account sees: None or ``province`` (all),
    #: ``city`` (its counties) or ``county``; see :mod:`web.scope`
    scope_level: Mapped[str | None] = mapped_column(String(16))
    scope_id: Mapped[str | None] = mapped_column(String(64))
    #: a city account's counties, comma-separated (empty: counties whose id starts with scope_id)
    scope_counties: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    account: Mapped[Account] = relationship()


class Area(Base):
    """A county (县), town (镇), village (村) or grid (网格) of a campaign, in WGS-84."""

    __tablename__ = "areas"
    __table_args__ = (
        UniqueConstraint("campaign_id", "level", "area_id", name="uq_areas_campaign_level_area"),
        Index("ix_areas_campaign_county", "campaign_id", "county_id", "level"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    level: Mapped[str] = mapped_column(String(8))  # county | town | village | grid
    area_id: Mapped[str] = mapped_column(String(64))
    parent_id: Mapped[str | None] = mapped_column(String(64))  # grid → village → town → county
    county_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    minx: Mapped[float | None] = mapped_column(Float)
    miny: Mapped[float | None] = mapped_column(Float)
    maxx: Mapped[float | None] = mapped_column(Float)
    maxy: Mapped[float | None] = mapped_column(Float)
    geom_wkb: Mapped[bytes | None] = mapped_column(LargeBinary)


class Place(Base):
    """A household (户) or enterprise (企业): where it is and who visits it. Public columns only."""

    __tablename__ = "places"
    __table_args__ = (
        UniqueConstraint("campaign_id", "entity_type", "entity_id", name="uq_places_campaign_entity"),
        Index("ix_places_campaign_county", "campaign_id", "county_id"),
        Index("ix_places_campaign_lon_lat", "campaign_id", "lon", "lat"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    entity_type: Mapped[str] = mapped_column(String(16))  # household | enterprise
    entity_id: Mapped[str] = mapped_column(String(64))
    county_id: Mapped[str | None] = mapped_column(String(64))
    town_id: Mapped[str | None] = mapped_column(String(64))
    village_id: Mapped[str | None] = mapped_column(String(64))
    grid_id: Mapped[str | None] = mapped_column(String(64))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    team_id: Mapped[str | None] = mapped_column(String(64))
    cadre_id: Mapped[str | None] = mapped_column(String(64))
    #: a phone call (电话/微信走访) covers it (vacant / away households, by the coverage rules)
    phone_ok: Mapped[bool] = mapped_column(Boolean, default=False)


class AreaCounter(Base):
    """Coverage of one area, pre-aggregated: what the leader's roll-ups read."""

    __tablename__ = "area_counters"
    __table_args__ = (Index("ix_area_counters_campaign_county", "campaign_id", "county_id", "level"),)

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    level: Mapped[str] = mapped_column(String(8), primary_key=True)
    area_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    county_id: Mapped[str | None] = mapped_column(String(64))
    households: Mapped[int] = mapped_column(Integer, default=0)
    households_covered: Mapped[int] = mapped_column(Integer, default=0)
    enterprises: Mapped[int] = mapped_column(Integer, default=0)
    enterprises_covered: Mapped[int] = mapped_column(Integer, default=0)
    not_home_backlog: Mapped[int] = mapped_column(Integer, default=0)  # not covered, found not at home
    visits: Mapped[int] = mapped_column(Integer, default=0)


class PlanMustVisit(Base):
    """A must-visit (必访对象) of the campaign's plan: who must visit which place by which rule.
    Public columns only (ids, no names or phones)."""

    __tablename__ = "plan_must_visits"
    __table_args__ = (
        Index("ix_plan_must_visits_campaign_county", "campaign_id", "county_id"),
        Index("ix_plan_must_visits_campaign_cadre", "campaign_id", "cadre_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    rule: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(16))  # household | enterprise | village
    entity_id: Mapped[str] = mapped_column(String(64))
    cadre_id: Mapped[str | None] = mapped_column(String(64))
    team_id: Mapped[str | None] = mapped_column(String(64))
    county_id: Mapped[str | None] = mapped_column(String(64))


class PlanStop(Base):
    """One stop of the plan's schedule (日程): a cadre's visit on a date, in route order."""

    __tablename__ = "plan_stops"
    __table_args__ = (
        Index("ix_plan_stops_cadre_day", "campaign_id", "cadre_id", "date", "seq"),
        Index("ix_plan_stops_county_day", "campaign_id", "county_id", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    cadre_id: Mapped[str] = mapped_column(String(64))
    team_id: Mapped[str | None] = mapped_column(String(64))
    date: Mapped[dt.date] = mapped_column(Date)
    seq: Mapped[int] = mapped_column(Integer)
    entity_type: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str | None] = mapped_column(String(8))  # visit | phone
    arrive: Mapped[str | None] = mapped_column(String(5))  # "HH:MM", Beijing time
    depart: Mapped[str | None] = mapped_column(String(5))
    travel_s: Mapped[int | None] = mapped_column(Integer)  # from the previous place
    travel_m: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(64))  # assigned, must_visit:RULE, ...
    county_id: Mapped[str | None] = mapped_column(String(64))
    lon: Mapped[float | None] = mapped_column(Float)  # WGS-84
    lat: Mapped[float | None] = mapped_column(Float)
