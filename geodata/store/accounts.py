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


def create_account(session: Session, username: str, password: str, *, role: str, cadre_id: str | None = None,
                   display_name: str | None = None) -> Account:
    from werkzeug.security import generate_password_hash

    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if role == "cadre" and not cadre_id:
        raise ValueError("a cadre account names its cadre_id")
    acc = Account(username=username, password_hash=generate_password_hash(password), role=role,
                  cadre_id=cadre_id, display_name=display_name, active=True)
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
