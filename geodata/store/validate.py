"""Checks of one visit record (and the problems in it) before it is stored:
every fault of a record is collected and reported together."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from geodata.store.vocab import CATEGORIES, ENTITY_TYPES, LEVELS, OPINION_TOPICS, OUTCOMES, SURVEY_FIELDS

#: Timestamps without a zone are read in, and all are stored as, this zone's wall time.
CAMPAIGN_TZ = ZoneInfo("Asia/Shanghai")
ID_MAX = 64
TEXT_MAX = 4000
VISIT_KEYS = {"client_id", "entity_type", "entity_id", "cadre_id", "visited_at", "outcome", "lon", "lat",
              "contact_card", "survey", "notes", "problems"}
PROBLEM_KEYS = {"client_id", "category", "level", "description", "suggestion", "due_date"}


@dataclass
class CleanProblem:
    client_id: str
    category: str
    level: str
    description: str
    suggestion: str | None
    due_date: dt.date | None


@dataclass
class CleanVisit:
    client_id: str
    entity_type: str
    entity_id: str
    cadre_id: str
    visited_at: dt.datetime
    outcome: str
    lon: float | None
    lat: float | None
    contact_card: bool
    survey: dict | None
    notes: str | None
    problems: list[CleanProblem] = field(default_factory=list)


def parse_time(value, *, tz=CAMPAIGN_TZ) -> dt.datetime:
    """ISO 8601 text → naive wall time in ``tz`` (a zone-less text is taken as ``tz``)."""
    if isinstance(value, dt.datetime):
        t = value
    elif isinstance(value, str):
        t = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    else:
        raise ValueError(f"expected an ISO 8601 date-time text, got {type(value).__name__}")
    if t.tzinfo is not None:
        t = t.astimezone(tz).replace(tzinfo=None)
    return t


def parse_date(value) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value.strip()[:10])
    raise ValueError(f"expected a YYYY-MM-DD date, got {type(value).__name__}")


def _id(rec: dict, key: str, errors: list[str], where: str = "") -> str | None:
    v = rec.get(key)
    if isinstance(v, int) and not isinstance(v, bool):
        v = str(v)
    if not isinstance(v, str) or not v.strip():
        errors.append(f"{where}{key}: required, a non-empty text")
        return None
    v = v.strip()
    if len(v) > ID_MAX:
        errors.append(f"{where}{key}: at most {ID_MAX} characters, got {len(v)}")
        return None
    return v


def _choice(rec: dict, key: str, allowed, errors: list[str], where: str = "") -> str | None:
    v = rec.get(key)
    if v not in allowed:
        errors.append(f"{where}{key}: {v!r} is not one of {', '.join(allowed)}")
        return None
    return v


def _text(rec: dict, key: str, errors: list[str], *, where: str = "", required: bool = False) -> str | None:
    v = rec.get(key)
    if v is None or (isinstance(v, str) and not v.strip()):
        if required:
            errors.append(f"{where}{key}: required")
        return None
    if not isinstance(v, str):
        errors.append(f"{where}{key}: expected text, got {type(v).__name__}")
        return None
    if len(v) > TEXT_MAX:
        errors.append(f"{where}{key}: at most {TEXT_MAX} characters, got {len(v)}")
        return None
    return v.strip()


def _survey(value, errors: list[str]) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.append("survey: expected an object of the household form's fields")
        return None
    unknown = sorted(set(value) - set(SURVEY_FIELDS))
    if unknown:
        errors.append(f"survey: unknown field(s) {', '.join(map(str, unknown))}; fields are {', '.join(SURVEY_FIELDS)}")
    out = {}
    for k, v in value.items():
        if k not in SURVEY_FIELDS or v is None:
            continue
        if k == "members":
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 100:
                errors.append(f"survey.members: a whole number 0-100, got {v!r}")
                continue
        elif k == "opinions":
            if not isinstance(v, dict) or any(t not in OPINION_TOPICS or not isinstance(s, str) for t, s in v.items()):
                errors.append(f"survey.opinions: an object topic → text, topics {', '.join(OPINION_TOPICS)}")
                continue
        elif not isinstance(v, str) or len(v) > TEXT_MAX:
            errors.append(f"survey.{k}: text of at most {TEXT_MAX} characters")
            continue
        out[k] = v
    return out


def clean_visit(rec, *, known=None, now: dt.datetime | None = None) -> tuple[CleanVisit | None, list[str]]:
    """``(visit, [])`` for a good record, ``(None, errors)`` for a bad one.

    ``known``: optional ``{"household": ids, "enterprise": ids, "village": ids,
    "cadre": ids}`` (any container); ids not in it are refused.
    """
    if not isinstance(rec, dict):
        return None, [f"a visit must be a JSON object, got {type(rec).__name__}"]
    errors: list[str] = []
    unknown = sorted(set(rec) - VISIT_KEYS)
    if unknown:
        errors.append(f"unknown field(s) {', '.join(map(str, unknown))}")
    client_id = _id(rec, "client_id", errors)
    etype = _choice(rec, "entity_type", ENTITY_TYPES, errors)
    eid = _id(rec, "entity_id", errors)
    cadre = _id(rec, "cadre_id", errors)
    outcome = _choice(rec, "outcome", OUTCOMES, errors)
    visited_at = None
    try:
        visited_at = parse_time(rec.get("visited_at"))
    except (ValueError, TypeError) as exc:
        errors.append(f"visited_at: {exc}")
    now = now or dt.datetime.now(CAMPAIGN_TZ).replace(tzinfo=None)
    if visited_at is not None and not (dt.datetime(2000, 1, 1) <= visited_at <= now + dt.timedelta(days=1)):
        errors.append(f"visited_at: {visited_at.isoformat()} is not between 2000-01-01 and tomorrow")
    lon, lat = rec.get("lon"), rec.get("lat")
    if (lon is None) != (lat is None):
        errors.append("lon/lat: give both or neither")
    elif lon is not None:
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lon, lat)) \
                or not (-180 <= lon <= 180 and -90 <= lat <= 90):
            errors.append(f"lon/lat: WGS-84 degrees expected, got {lon!r}, {lat!r}")
    card = rec.get("contact_card", False)
    if not isinstance(card, bool):
        errors.append(f"contact_card: true or false, got {card!r}")
    survey = _survey(rec.get("survey"), errors)
    notes = _text(rec, "notes", errors)
    if known is not None:
        if etype and eid and eid not in known.get(etype, ()):
            errors.append(f"entity_id: no {etype} {eid!r} in this campaign")
        if cadre and "cadre" in known and cadre not in known["cadre"]:
            errors.append(f"cadre_id: no cadre {cadre!r} in this campaign")
    problems = []
    raw_problems = rec.get("problems") or []
    if not isinstance(raw_problems, list):
        errors.append("problems: expected a list")
        raw_problems = []
    seen = set()
    for i, p in enumerate(raw_problems):
        where = f"problems[{i}]."
        if not isinstance(p, dict):
            errors.append(f"problems[{i}]: expected an object")
            continue
        bad = sorted(set(p) - PROBLEM_KEYS)
        if bad:
            errors.append(f"{where}: unknown field(s) {', '.join(map(str, bad))}")
        pid = _id(p, "client_id", errors, where)
        if pid in seen:
            errors.append(f"{where}client_id: {pid!r} repeated in this visit")
        seen.add(pid)
        cat = _choice(p, "category", CATEGORIES, errors, where)
        level = _choice(p, "level", LEVELS, errors, where) if "level" in p else "town"
        desc = _text(p, "description", errors, where=where, required=True)
        sugg = _text(p, "suggestion", errors, where=where)
        due = None
        if p.get("due_date") is not None:
            try:
                due = parse_date(p["due_date"])
            except (ValueError, TypeError) as exc:
                errors.append(f"{where}due_date: {exc}")
        if outcome in ("not_home", "refused"):
            errors.append(f"{where[:-1]}: a {outcome} visit cannot raise problems")
        problems.append(CleanProblem(pid, cat, level, desc, sugg, due))
    if errors:
        return None, errors
    return CleanVisit(client_id, etype, eid, cadre, visited_at, outcome, lon, lat, card, survey, notes,
                      problems), []
