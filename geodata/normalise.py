"""Turn raw columns into canonical types, reporting every value that does not fit.

Ids become stripped strings (``3.0`` → ``"3"``), flags become booleans (``是``,
``yes``, ``1``...), categories become their canonical English value (Chinese
labels such as ``社区``, ``空关户``, ``副处级`` are recognised), numbers become
numbers. Nothing here raises on bad data: each bad cell becomes a finding.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from geodata.findings import Collector
from geodata.schema import BOOL_FALSE, BOOL_TRUE, LAYERS, Layer

#: Chinese (and common variant) labels → canonical values, per categorical column.
VALUE_ALIASES: dict[str, dict[str, str]] = {
    "kind": {"村": "village", "行政村": "village", "社区": "community", "居委会": "community"},
    "status": {
        "常住": "resident", "常住户": "resident", "在家": "resident",
        "空关": "vacant", "空关户": "vacant", "空置": "vacant",
        "租赁": "rental", "租赁户": "rental", "出租": "rental",
        "外出": "away", "人户分离": "away", "流动户": "away", "人户分离/流动户": "away",
    },
    "level": {"市": "city", "市级": "city", "县": "county", "县级": "county", "区级": "county",
              "镇": "town", "镇级": "town", "乡镇": "town", "街道": "town", "村": "village", "村级": "village"},
    "rank": {
        "科员": "staff", "办事员": "staff", "一般干部": "staff",
        "副科": "deputy_section", "副科级": "deputy_section",
        "正科": "section", "正科级": "section", "科级": "section",
        "副处": "deputy_division", "副处级": "deputy_division", "副县级": "deputy_division",
        "正处": "division", "正处级": "division", "处级": "division", "正县级": "division",
        "副厅": "deputy_department", "副厅级": "deputy_department", "副市级": "deputy_department",
        "正厅": "department", "正厅级": "department", "厅级": "department",
    },
}


def _is_blank(v) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    try:
        if v is pd.NA or v is pd.NaT:
            return True
    except TypeError:  # pragma: no cover
        pass
    return isinstance(v, str) and v.strip() == ""


def clean_id(v):
    """A canonical string id, or None when blank."""
    if _is_blank(v):
        return None
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    return str(v).strip()


def _bool(v):
    if isinstance(v, (bool, np.bool_)):
        return bool(v), True
    if _is_blank(v):
        return False, True
    if isinstance(v, (int, np.integer)):
        return (v != 0), v in (0, 1)
    if isinstance(v, (float, np.floating)):
        return (v != 0), v in (0.0, 1.0)
    s = str(v).strip().lower()
    if s in BOOL_TRUE:
        return True, True
    if s in BOOL_FALSE:
        return False, True
    return False, False


def _category(v, column: str, allowed):
    if _is_blank(v):
        return None, True
    s = str(v).strip()
    low = s.lower()
    if low in allowed:
        return low, True
    alias = VALUE_ALIASES.get(column, {}).get(s)
    if alias in allowed:
        return alias, True
    return None, False


def _number(v, integer: bool):
    if _is_blank(v):
        return None, True
    if isinstance(v, (bool, np.bool_)):
        return None, False
    try:
        x = float(str(v).strip()) if not isinstance(v, (int, float, np.number)) else float(v)
    except (TypeError, ValueError, OverflowError):
        return None, False
    if not math.isfinite(x):
        return None, False
    if integer:
        if not x.is_integer() or abs(x) > 2**31:
            return None, False
        return int(x), True
    return x, True


def normalise_layer(name: str, frame: pd.DataFrame, out: Collector) -> pd.DataFrame:
    """Canonical dtypes for the schema columns of one layer; every bad cell is reported."""
    layer: Layer = LAYERS[name]
    frame = frame.copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    ids = _ids_for_messages(frame, layer)
    for col in layer.columns:
        if col.name not in frame.columns:
            continue
        raw = frame[col.name].tolist()
        if col.name.endswith("_id"):
            frame[col.name] = pd.array([clean_id(v) for v in raw], dtype=object)
            continue
        if col.allowed:
            parsed = [_category(v, col.name, col.allowed) for v in raw]
        elif col.dtype == "bool":
            parsed = [_bool(v) for v in raw]
        elif col.dtype in ("int", "float"):
            parsed = [_number(v, col.dtype == "int") for v in raw]
        else:
            frame[col.name] = pd.array([None if _is_blank(v) else str(v).strip() for v in raw], dtype=object)
            continue
        bad = [i for i, (_, ok) in enumerate(parsed) if not ok]
        for i in bad[:50]:
            fix = _fix_for(col)
            out.error(
                name, f"bad_{col.name}" if not col.allowed else f"unknown_{col.name}",
                f"{col.name} = {raw[i]!r} is not a valid {_what(col)}",
                fix, ids[i], value=str(raw[i]), allowed=list(col.allowed) if col.allowed else None,
            )
        if len(bad) > 50:
            out.error(name, f"bad_{col.name}", f"{len(bad) - 50} more rows have an invalid {col.name}", _fix_for(col))
        values = [v for v, _ in parsed]
        if col.dtype == "bool":
            frame[col.name] = pd.array(values, dtype=bool)
        elif col.dtype == "int" and not col.allowed:
            frame[col.name] = pd.array(values, dtype="Int64")
        elif col.dtype == "float" and not col.allowed:
            frame[col.name] = pd.array(values, dtype="Float64")
        else:
            frame[col.name] = pd.array(values, dtype=object)
    return frame


def _ids_for_messages(frame: pd.DataFrame, layer: Layer) -> list:
    if layer.id_column and layer.id_column in frame.columns:
        ids = [clean_id(v) for v in frame[layer.id_column].tolist()]
        return [i if i is not None else f"row {n + 1}" for n, i in enumerate(ids)]
    return [f"row {n + 1}" for n in range(len(frame))]


def _what(col) -> str:
    if col.allowed:
        return f"{col.name} (allowed: {', '.join(col.allowed)})"
    return {"bool": "yes/no flag", "int": "whole number", "float": "number"}.get(col.dtype, col.dtype)


def _fix_for(col) -> str:
    if col.allowed:
        aliases = [k for k, v in VALUE_ALIASES.get(col.name, {}).items()]
        extra = f" (Chinese labels such as {', '.join(aliases[:4])} are accepted too)" if aliases else ""
        return f"use one of: {', '.join(col.allowed)}{extra}"
    if col.dtype == "bool":
        return "use 1/0, true/false, yes/no or 是/否"
    if col.dtype == "int":
        return "use a whole number, or leave it empty"
    return "use a number, or leave it empty"
