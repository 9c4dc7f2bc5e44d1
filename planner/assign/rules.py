"""Campaign rules (活动规则) as validated frozen dataclasses, loaded from TOML.

Every section has documented defaults in ``planner/rules_default.toml``; a
rules file only needs the keys that differ. Unknown keys and bad values are
collected and reported together in one :class:`RulesError`.

Sections read here: ``[units]``, ``[[must_visit]]``, ``[quotas]``,
``[workload]``, ``[balance]``, ``[compactness]``, ``[contiguity]``,
``[stability]``. Other top-level sections (``[schedule]``) are kept raw in
:attr:`Rules.extra` for the modules that own them.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from geodata.errors import ZoufangError
from geodata.schema import CADRE_LEVELS, HOUSEHOLD_STATUSES, RANKS, TEAM_LEVELS

DEFAULT_RULES_PATH = Path(__file__).resolve().parent.parent / "rules_default.toml"
UNIT_LEVELS = ("grid", "village", "town")
ENTITY_TYPES = ("village", "household", "enterprise")
#: sections this module reads; anything else at top level goes to ``extra``
_OWN_SECTIONS = ("units", "must_visit", "quotas", "workload", "balance", "compactness", "contiguity", "stability")


class RulesError(ZoufangError, ValueError):
    """The rules file is invalid; ``problems`` lists every problem found."""

    def __init__(self, message: str, problems=()):
        super().__init__(message)
        self.problems = list(problems)


@dataclass(frozen=True)
class UnitRules:
    base: str = "grid"
    city: str = "village"
    county: str = "village"
    town: str = "grid"
    town_teams_in_own_town: bool = True

    def granularity(self, team_level: str) -> str:
        """The coarsest piece a team of ``team_level`` takes whole (never finer than ``base``)."""
        g = getattr(self, team_level)
        return g if UNIT_LEVELS.index(g) > UNIT_LEVELS.index(self.base) else self.base


@dataclass(frozen=True)
class MustVisitRule:
    name: str
    entity: str
    where: tuple[tuple[str, Any], ...] = ()
    min_rank: str | None = None
    count: int = 1
    levels: tuple[str, ...] = ()
    max_per_cadre: int = 1_000_000
    zh: str = ""

    @property
    def slots(self) -> tuple[str, ...]:
        """One requirement per cadre needed: ``rank>=R#k`` or ``level=L``."""
        if self.levels:
            return tuple(f"level={lv}" for lv in self.levels)
        return tuple(f"rank>={self.min_rank}#{k + 1}" for k in range(self.count))

    def describe(self) -> str:
        where = " and ".join(f"{k}={v}" for k, v in self.where) or "all"
        if self.levels:
            need = "one cadre each of levels " + ", ".join(self.levels)
        else:
            need = f"{self.count} cadre(s) of rank ≥ {self.min_rank}"
        return f"rule '{self.name}' ({self.zh}): every {self.entity} with {where} needs {need}"


@dataclass(frozen=True)
class LevelQuota:
    min_villages: int | None = None
    max_villages: int | None = None


@dataclass(frozen=True)
class QuotaRules:
    cadre_min_households: int = 30
    max_must_visits_per_cadre: int = 80
    city: LevelQuota = LevelQuota(1, 3)
    county: LevelQuota = LevelQuota()
    town: LevelQuota = LevelQuota()

    def for_level(self, level: str) -> LevelQuota:
        return getattr(self, level)


@dataclass(frozen=True)
class WorkloadRules:
    resident: float = 30
    vacant: float = 10
    rental: float = 20
    away: float = 10
    poor_extra: float = 30
    enterprise: float = 45

    def household_minutes(self, status: str) -> float:
        return getattr(self, status)


@dataclass(frozen=True)
class BalanceRules:
    tolerance: float = 0.05
    weight: float = 20


@dataclass(frozen=True)
class CompactnessRules:
    weight: float = 1


@dataclass(frozen=True)
class ContiguityRules:
    weight: float = 2
    detached_weight: float = 50


@dataclass(frozen=True)
class StabilityRules:
    weight_per_household: float = 1


@dataclass(frozen=True)
class Rules:
    units: UnitRules = UnitRules()
    must_visit: tuple[MustVisitRule, ...] = ()
    quotas: QuotaRules = QuotaRules()
    workload: WorkloadRules = WorkloadRules()
    balance: BalanceRules = BalanceRules()
    compactness: CompactnessRules = CompactnessRules()
    contiguity: ContiguityRules = ContiguityRules()
    stability: StabilityRules = StabilityRules()
    #: top-level sections owned by other modules (e.g. ``schedule``), raw
    extra: dict = field(default_factory=dict, compare=False)
    source: str = field(default="defaults", compare=False)

    def to_dict(self) -> dict:
        """Plain dict (for ``plan_info``)."""
        d = asdict(self)
        d.pop("extra")
        for mv in d["must_visit"]:
            mv["where"] = dict(mv["where"])
        return d


# ----------------------------------------------------------------------------- loading


def load_rules(path: str | Path | None = None) -> Rules:
    """Load ``path`` over the defaults (``path=None``: the defaults alone).

    A file that has a ``[[must_visit]]`` list replaces the default list; one
    without keeps the defaults.
    """
    defaults = _read_toml(DEFAULT_RULES_PATH)
    if path is None:
        return rules_from_dict(defaults, source="defaults")
    data = _read_toml(Path(path))
    merged = _merge(defaults, data)
    return rules_from_dict(merged, source=str(path))


def default_rules() -> Rules:
    return load_rules(None)


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise RulesError(f"rules file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"rules file {path} is not valid TOML: {exc}") from None


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def rules_from_dict(data: dict, *, source: str = "dict") -> Rules:
    """Validate a plain dict (the TOML structure) into :class:`Rules`.

    Missing keys take the dataclass defaults; every problem is collected and
    raised together.
    """
    problems: list[str] = []
    extra = {k: v for k, v in data.items() if k not in _OWN_SECTIONS}

    def section(name: str) -> dict:
        value = data.get(name, {})
        if not isinstance(value, dict):
            problems.append(f"[{name}] must be a table, got {type(value).__name__}")
            return {}
        return value

    def build(cls, name: str, values: dict, checks: dict):
        known = {f for f in cls.__dataclass_fields__}
        kwargs = {}
        for key, value in values.items():
            if key not in known:
                problems.append(f"[{name}] unknown key '{key}' (allowed: {', '.join(sorted(known))})")
                continue
            check = checks.get(key)
            if check is not None:
                msg = check(value)
                if msg:
                    problems.append(f"[{name}] {key} = {value!r}: {msg}")
                    continue
            kwargs[key] = value
        return cls(**kwargs)

    units = build(
        UnitRules, "units", section("units"),
        {
            "base": _one_of(UNIT_LEVELS), "city": _one_of(UNIT_LEVELS), "county": _one_of(UNIT_LEVELS),
            "town": _one_of(UNIT_LEVELS), "town_teams_in_own_town": _is_bool,
        },
    )

    q = dict(section("quotas"))
    level_quotas = {}
    for level in TEAM_LEVELS:
        lq = q.pop(level, None)
        if lq is None:
            continue
        if not isinstance(lq, dict):
            problems.append(f"[quotas.{level}] must be a table")
            continue
        quota = build(LevelQuota, f"quotas.{level}", lq, {"min_villages": _nonneg_int, "max_villages": _nonneg_int})
        if quota.min_villages is not None and quota.max_villages is not None and quota.min_villages > quota.max_villages:
            problems.append(f"[quotas.{level}] min_villages = {quota.min_villages} > max_villages = {quota.max_villages}")
        level_quotas[level] = quota
    quotas = build(QuotaRules, "quotas", q, {"cadre_min_households": _nonneg_int, "max_must_visits_per_cadre": _pos_int})
    if level_quotas:
        quotas = QuotaRules(
            cadre_min_households=quotas.cadre_min_households,
            max_must_visits_per_cadre=quotas.max_must_visits_per_cadre,
            **{lv: level_quotas.get(lv, LevelQuota()) for lv in TEAM_LEVELS},
        )

    workload = build(WorkloadRules, "workload", section("workload"),
                     {k: _nonneg_num for k in (*HOUSEHOLD_STATUSES, "poor_extra", "enterprise")})
    balance = build(BalanceRules, "balance", section("balance"),
                    {"tolerance": _fraction, "weight": _nonneg_num})
    compactness = build(CompactnessRules, "compactness", section("compactness"), {"weight": _nonneg_num})
    contiguity = build(ContiguityRules, "contiguity", section("contiguity"),
                       {"weight": _nonneg_num, "detached_weight": _nonneg_num})
    stability = build(StabilityRules, "stability", section("stability"), {"weight_per_household": _nonneg_num})

    must = []
    raw_mv = data.get("must_visit", [])
    if not isinstance(raw_mv, list):
        problems.append("must_visit must be an array of tables ([[must_visit]])")
        raw_mv = []
    seen = set()
    for i, item in enumerate(raw_mv):
        rule = _must_visit(i, item, problems)
        if rule is None:
            continue
        if rule.name in seen:
            problems.append(f"[[must_visit]] #{i + 1}: duplicate name '{rule.name}'")
        seen.add(rule.name)
        must.append(rule)

    if problems:
        raise RulesError(
            f"invalid rules ({source}): {len(problems)} problem(s):\n  - " + "\n  - ".join(problems), problems
        )
    return Rules(units, tuple(must), quotas, workload, balance, compactness, contiguity, stability, extra, source)


def _must_visit(i: int, item: Any, problems: list[str]) -> MustVisitRule | None:
    where_label = f"[[must_visit]] #{i + 1}"
    if not isinstance(item, dict):
        problems.append(f"{where_label} must be a table")
        return None
    known = set(MustVisitRule.__dataclass_fields__)
    n0 = len(problems)
    for key in item:
        if key not in known:
            problems.append(f"{where_label} unknown key '{key}' (allowed: {', '.join(sorted(known))})")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        problems.append(f"{where_label}: 'name' is required (a short id such as 'weak_village')")
    else:
        where_label = f"[[must_visit]] '{name}'"
    entity = item.get("entity")
    if entity not in ENTITY_TYPES:
        problems.append(f"{where_label}: entity = {entity!r} must be one of {', '.join(ENTITY_TYPES)}")
    where = item.get("where", {})
    if not isinstance(where, dict):
        problems.append(f"{where_label}: where must be a table of column = value")
        where = {}
    min_rank = item.get("min_rank")
    levels = item.get("levels", [])
    if (min_rank is None) == (not levels):
        problems.append(f"{where_label}: give exactly one of min_rank (e.g. 'deputy_division') or levels (e.g. ['city','county','town'])")
    if min_rank is not None and min_rank not in RANKS:
        problems.append(f"{where_label}: min_rank = {min_rank!r} must be one of {', '.join(RANKS)}")
    if not isinstance(levels, list) or any(lv not in CADRE_LEVELS for lv in levels) or len(set(levels)) != len(levels):
        problems.append(f"{where_label}: levels = {levels!r} must be distinct values of {', '.join(CADRE_LEVELS)}")
    for key in ("count", "max_per_cadre"):
        if key in item:
            msg = _pos_int(item[key])
            if msg:
                problems.append(f"{where_label}: {key} = {item[key]!r}: {msg}")
    if len(problems) > n0:
        return None
    kwargs = {k: v for k, v in item.items() if k in ("count", "max_per_cadre", "zh")}
    return MustVisitRule(
        name=name, entity=entity, where=tuple(sorted(where.items())), min_rank=min_rank,
        levels=tuple(levels), **kwargs,
    )


def _one_of(allowed):
    return lambda v: None if v in allowed else f"must be one of {', '.join(allowed)}"


def _is_bool(v):
    return None if isinstance(v, bool) else "must be true or false"


def _nonneg_int(v):
    return None if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else "must be a whole number ≥ 0"


def _pos_int(v):
    return None if isinstance(v, int) and not isinstance(v, bool) and v >= 1 else "must be a whole number ≥ 1"


def _nonneg_num(v):
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
    return None if ok else "must be a number ≥ 0"


def _fraction(v):
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1
    return None if ok else "must be a number in [0, 1)"
