"""Accounts, log-in and access control.

Accounts live in the app database (:mod:`geodata.store`: Werkzeug password
hashes, roles planner / cadre / leader / admin, a cadre account linked to its
``cadre_id``). Sessions are Flask-Login's; every form carries a CSRF token
(Flask-WTF's :data:`csrf`; a JSON API authenticated by bearer token exempts
its blueprint with ``csrf.exempt(bp)``).

Each audience's blueprint registers ``bp.before_request(require_role(...))``:
an anonymous visitor is sent to ``/login`` (an ``/api/`` request gets 401),
a signed-in user whose role is not listed gets 403. Admins pass everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select

from geodata import store
from web import db
from web.i18n import gettext as _

ROLES = store.ROLES
#: each role's home page (endpoint)
HOME = {"planner": "planner.home", "cadre": "cadre.home", "leader": "leader.home", "admin": "admin.home"}
#: which roles may see personal data (names, phones) of every household
FULL_DATA_ROLES = ("planner", "admin")

login_manager = LoginManager()
csrf = CSRFProtect()
bp = Blueprint("auth", __name__)


@dataclass
class User:
    """The signed-in account as Flask-Login sees it (no password hash kept)."""

    id: int
    username: str
    role: str
    cadre_id: str | None
    display_name: str | None
    #: the part of a multi-county campaign the account sees (see web.scope)
    scope_level: str | None = None
    scope_id: str | None = None
    scope_counties: str | None = None

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def sees_personal_data(self) -> bool:
        return self.role in FULL_DATA_ROLES

    @classmethod
    def from_account(cls, acc: store.Account) -> User:
        return cls(acc.id, acc.username, acc.role, acc.cadre_id, acc.display_name, acc.scope_level, acc.scope_id,
                   acc.scope_counties)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    try:
        key = int(user_id)
    except ValueError:
        return None
    with db.session() as s:
        acc = s.get(store.Account, key)
        return User.from_account(acc) if acc is not None and acc.active else None


@login_manager.unauthorized_handler
def _unauthorized():
    if request.path.startswith("/api/"):
        return jsonify(error="sign in first"), 401
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def require_role(*roles: str):
    """A ``before_request`` hook admitting only ``roles`` (and admins)."""
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown role(s) {', '.join(unknown)}; roles are {', '.join(ROLES)}")

    def check():
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if current_user.role != "admin" and current_user.role not in roles:
            abort(403)
        return None

    check.roles = roles
    return check


def has_role(*roles: str) -> bool:
    return current_user.is_authenticated and (current_user.role == "admin" or current_user.role in roles)


def roles_allowed(*roles: str):
    """A view decorator: 403 unless the user has one of ``roles`` (or is admin);
    for endpoints narrower than their blueprint."""
    from functools import wraps

    def deco(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if not has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.roles = roles
        return wrapped

    return deco


def home_url(user=None) -> str:
    user = user or current_user
    if not user.is_authenticated:
        return url_for("auth.login")
    return url_for(HOME[user.role])


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (no scheme, no host) is followed after log-in."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        with db.session() as s:
            acc = store.authenticate(s, username, password)
            user = User.from_account(acc) if acc is not None else None
        if user is None:
            error = _("Wrong user name or password")
        else:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or home_url(user))
    return render_template("login.html", error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash(_("Signed out"))
    return redirect(url_for("auth.login"))


#: shortest password accepted when one is set on the site
MIN_PASSWORD = 8


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Every signed-in user changes their own password (the current one is asked)."""
    from werkzeug.security import generate_password_hash

    error = None
    if request.method == "POST":
        new = request.form.get("new_password", "")
        with db.session() as s:
            acc = store.authenticate(s, current_user.username, request.form.get("password", ""))
            if acc is None:
                error = _("The current password is wrong.")
            elif len(new) < MIN_PASSWORD:
                error = _("The password needs at least %(n)s characters.", n=MIN_PASSWORD)
            elif new != request.form.get("new_password_again", ""):
                error = _("The two new passwords differ.")
            else:
                acc.password_hash = generate_password_hash(new)
        if error is None:
            flash(_("Password changed."))
            return redirect(home_url(), 303)
    return render_template("password.html", error=error), (400 if error else 200)


def create_account(username: str, password: str, *, role: str, cadre_id: str | None = None,
                   display_name: str | None = None, scope_level: str | None = None, scope_id: str | None = None,
                   scope_counties=None, app: Flask | None = None) -> int:
    """Create an account (used by the admin page, ``zoufang serve`` and the demo); ``scope_*``:
    a city or county account of a multi-county campaign (:mod:`web.scope`)."""
    with db.session(app) as s:
        if s.scalar(select(store.Account).where(store.Account.username == username)) is not None:
            raise ValueError(f"the user name {username!r} is taken")
        return store.create_account(s, username, password, role=role, cadre_id=cadre_id or None,
                                    display_name=display_name or None, scope_level=scope_level,
                                    scope_id=scope_id, scope_counties=scope_counties).id


def ensure_account(username: str, password: str, *, role: str, cadre_id: str | None = None,
                   display_name: str | None = None, app: Flask | None = None) -> bool:
    """Create the account unless the user name exists; True when created."""
    with db.session(app) as s:
        if s.scalar(select(store.Account).where(store.Account.username == username)) is not None:
            return False
        store.create_account(s, username, password, role=role, cadre_id=cadre_id or None,
                             display_name=display_name or None)
        return True


def count_accounts(role: str | None = None, app: Flask | None = None) -> int:
    from sqlalchemy import func

    with db.session(app) as s:
        q = select(func.count()).select_from(store.Account)
        if role:
            q = q.where(store.Account.role == role)
        return int(s.scalar(q))


def _forbidden(exc):
    scoped = "outside your scope" in str(exc.description) or "whole campaign" in str(exc.description)
    if request.path.startswith("/api/"):
        return jsonify(error=exc.description if scoped else "forbidden for your role"), 403
    if scoped:  # (the Chinese beside the English here: web.i18n's catalogue belongs to the pages)
        from web.i18n import get_language

        message = ("该内容属于其他县（市、区），您的账号无权查看或修改。" if get_language() == "zh"
                   else "This belongs to another county: your account may not open or change it.")
    else:
        message = _("Your role may not open this page.")
    return render_template("error.html", code=403, message=message), 403


def _csrf_error(exc):
    if request.path.startswith("/api/"):
        return jsonify(error=f"CSRF check failed: {exc.description}"), 400
    return render_template("error.html", code=400,
                           message=_("The form expired or was not sent from this site; reload the page and try again.")), 400


def init_app(app: Flask) -> None:
    """Sessions (Flask-Login), CSRF protection on every form, the log-in views."""
    from flask_wtf.csrf import CSRFError

    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # a cadre's page may stay open all day
    login_manager.init_app(app)
    csrf.init_app(app)
    app.register_blueprint(bp)
    app.register_error_handler(403, _forbidden)
    app.register_error_handler(CSRFError, _csrf_error)
    app.extensions.setdefault("zoufang.auth", {"roles": ROLES})
