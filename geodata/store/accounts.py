"""Accounts and API tokens: a phone client trades a user name and password
for a bearer token (``POST /api/token``) and sends it with every request.

Passwords are stored as Werkzeug hashes (what Flask-Login sites check);
tokens as their SHA-256 only, so a copied database gives no usable token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from geodata.store.models import Account, ApiToken, utcnow

ROLES = ("planner", "cadre", "leader", "admin")
TOKEN_DAYS = 30


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


#: what part of a multi-county campaign an account sees (web.scope applies it)
SCOPE_LEVELS = ("province", "city", "county")


def check_scope(level: str | None, scope_id: str | None, counties=None) -> tuple[str | None, str | None, str | None]:
    """Validate an account's scope → ``(scope_level, scope_id, scope_counties)`` as stored
    (province: all ``None``); ValueError says what is wrong and how to fix it."""
    level = (level or "province").strip()
    if level not in SCOPE_LEVELS:
        raise ValueError(f"scope level {level!r} is not one of {', '.join(SCOPE_LEVELS)}")
    if level == "province":
        return None, None, None
    if not scope_id or not str(scope_id).strip():
        raise ValueError(f"a {level} account names its {level} (scope_id, e.g. 320412 for a county, 3204 for a city)")
    if isinstance(counties, str):
        counties = counties.replace("，", ",").split(",")
    text = ",".join(c.strip() for c in counties or () if c and c.strip()) or None
    if level == "county" and text:
        raise ValueError("a county account sees its own county only: give no county list")
    return level, str(scope_id).strip(), text


def create_account(session: Session, username: str, password: str, *, role: str, cadre_id: str | None = None,
                   display_name: str | None = None, scope_level: str | None = None, scope_id: str | None = None,
                   scope_counties=None) -> Account:
    from werkzeug.security import generate_password_hash

    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if role == "cadre" and not cadre_id:
        raise ValueError("a cadre account names its cadre_id")
    level, sid, counties = check_scope(scope_level, scope_id, scope_counties)
    acc = Account(username=username, password_hash=generate_password_hash(password), role=role,
                  cadre_id=cadre_id, display_name=display_name, active=True, scope_level=level, scope_id=sid,
                  scope_counties=counties)
    session.add(acc)
    session.flush()
    return acc


def authenticate(session: Session, username: str, password: str) -> Account | None:
    """The active account with these credentials, or ``None``."""
    from werkzeug.security import check_password_hash

    acc = session.scalar(select(Account).where(Account.username == username))
    if acc is None or not acc.active or not check_password_hash(acc.password_hash, password):
        return None
    return acc


def issue_token(session: Session, account: Account, *, days: int = TOKEN_DAYS) -> str:
    """A new bearer token for ``account`` (shown once; only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(account_id=account.id, token_hash=_hash_token(token),
                         expires_at=utcnow() + dt.timedelta(days=days), revoked=False))
    session.flush()
    return token


def account_for_token(session: Session, token: str | None) -> Account | None:
    """The active account a valid, unexpired, unrevoked token belongs to."""
    if not token:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(token)))
    if row is None or row.revoked or (row.expires_at is not None and row.expires_at < utcnow()):
        return None
    acc = session.get(Account, row.account_id)
    return acc if acc is not None and acc.active else None


def revoke_token(session: Session, token: str) -> bool:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(token)))
    if row is None:
        return False
    row.revoked = True
    session.flush()
    return True
