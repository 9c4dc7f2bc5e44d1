"""Masking personal data (个人信息脱敏): household names and phone numbers
shown to leaders and in shared reports; only the visiting cadre and
planners/admins see them in full."""

from __future__ import annotations

import re


def mask_name(name) -> str | None:
    """``王小明`` → ``王**``; empty stays empty."""
    if name is None or (isinstance(name, float) and name != name):
        return None
    s = str(name).strip()
    return s[:1] + "*" * max(len(s) - 1, 1) if s else s


def mask_phone(phone) -> str | None:
    """``13812345678`` → ``138****5678``; short numbers keep only the last two digits."""
    if phone is None or (isinstance(phone, float) and phone != phone):
        return None
    s = re.sub(r"\s", "", str(phone))
    if len(s) >= 7:
        return s[:3] + "*" * (len(s) - 7) + s[-4:]
    return "*" * max(len(s) - 2, 0) + s[-2:]


def mask_survey(survey: dict | None) -> dict | None:
    """A visit's survey with the head's name and phone masked and the address dropped."""
    if not survey:
        return survey
    out = dict(survey)
    if "head_name" in out:
        out["head_name"] = mask_name(out["head_name"])
    if "phone" in out:
        out["phone"] = mask_phone(out["phone"])
    out.pop("address", None)
    return out
