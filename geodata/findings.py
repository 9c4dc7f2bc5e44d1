"""Validation findings: what is wrong, where (layer, id), which rule, how to fix it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Finding:
    severity: str  # "error" | "warning" | "fixed"
    layer: str
    rule: str
    message: str
    fix: str
    feature_id: str | None = None
    #: extra machine-readable details (overlap area, allowed values, ...)
    details: dict = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        where = self.layer + (f" {self.feature_id}" if self.feature_id is not None else "")
        return f"[{self.severity}] {where}: {self.message} [{self.rule}] → {self.fix}"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Report:
    """All findings of one validation run, errors first."""

    findings: tuple[Finding, ...]
    source: str = ""

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity != "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def by_rule(self, rule: str) -> list[Finding]:
        return [f for f in self.findings if f.rule == rule]

    def rules(self) -> set[str]:
        return {f.rule for f in self.findings}

    def to_json(self) -> str:
        return json.dumps(
            {
                "source": self.source,
                "ok": self.ok,
                "errors": len(self.errors),
                "warnings": len(self.warnings),
                "findings": [f.to_dict() for f in self.findings],
            },
            ensure_ascii=False,
            indent=2,
            default=str,
        )

    def summary(self) -> str:
        return f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)"


class Collector:
    """Accumulates findings; validators call :meth:`error` / :meth:`warn` and never raise."""

    def __init__(self):
        self.items: list[Finding] = []

    def error(self, layer, rule, message, fix, feature_id=None, **details):
        self.items.append(Finding("error", layer, rule, message, fix, _id(feature_id), details))

    def warn(self, layer, rule, message, fix, feature_id=None, **details):
        self.items.append(Finding("warning", layer, rule, message, fix, _id(feature_id), details))

    def fixed(self, layer, rule, message, fix, feature_id=None, **details):
        self.items.append(Finding("fixed", layer, rule, message, fix, _id(feature_id), details))

    def report(self, source="") -> Report:
        order = {"error": 0, "warning": 1, "fixed": 2}
        items = sorted(self.items, key=lambda f: order[f.severity])  # stable: keeps layer order
        return Report(tuple(items), str(source))


def _id(value):
    if value is None:
        return None
    return str(value)
