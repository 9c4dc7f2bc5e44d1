"""Access control: the hook every blueprint calls before each request.

There are no accounts yet. Each audience's blueprint registers
``bp.before_request(require_role(...))`` naming the roles allowed in; today
:func:`require_role` lets everyone through. The accounts work (web issue,
point 2: Flask-Login, hashed passwords, roles planner / cadre / leader /
admin, 403 on every forbidden access) replaces the body of ``check`` below and
adds the login views here, without touching the blueprints.
"""

from __future__ import annotations

from flask import Flask

ROLES = ("planner", "cadre", "leader", "admin")


def require_role(*roles: str):
    """A ``before_request`` hook admitting only ``roles`` (today: everyone)."""
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown role(s) {', '.join(unknown)}; roles are {', '.join(ROLES)}")

    def check():
        # TODO(web auth): load the user (flask_login.current_user); redirect an
        # anonymous visitor to /login; abort(403) unless the user's role is in
        # `roles` (admin always allowed).
        return None

    check.roles = roles
    return check


def init_app(app: Flask) -> None:
    """Set up sessions for log-in (later: LoginManager, CSRF protection)."""
    app.extensions.setdefault("zoufang.auth", {"roles": ROLES})
