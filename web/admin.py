"""Admin pages (/admin/): list and create accounts, link a cadre account to
its ``cadre_id`` in the campaign, switch an account off or on."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from geodata import store
from web import auth, db
from web.auth import require_role
from web.i18n import gettext as _

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(require_role("admin"))

MIN_PASSWORD = auth.MIN_PASSWORD


def _cadres() -> list[tuple[str, str]]:
    """(cadre_id, "name · team") of the campaign, for the link selector (none without a campaign)."""
    from web.data import NoCampaignError, get_data

    try:
        data = get_data()
    except NoCampaignError:
        return []
    c = data.campaign.cadres
    return [(str(r.cadre_id), f"{r.name} · {data.teams.get(str(r.team_id), r.team_id)}") for r in c.itertuples()]


#: the account scope's words (web.scope), Chinese first
SCOPE_WORDS = {
    "zh": {"scope": "查看范围", "province": "全省（全部）", "city": "市（所辖县）", "county": "县（市、区）",
           "scope_id": "范围编码（县或市）", "scope_counties": "市辖县编码（逗号分隔，可空）"},
    "en": {"scope": "Scope", "province": "Province (everything)", "city": "City (its counties)",
           "county": "County", "scope_id": "Scope code (county or city)",
           "scope_counties": "The city's county codes (comma-separated, optional)"},
}


def scope_words() -> dict[str, str]:
    from web.i18n import get_language

    return SCOPE_WORDS["zh" if get_language() == "zh" else "en"]


def role_names() -> dict[str, str]:
    return {"planner": _("Planner"), "cadre": _("Cadre"), "leader": _("Leader"), "admin": _("Admin")}


@bp.route("/")
def home():
    with db.session() as s:
        accounts = [{"id": a.id, "username": a.username, "role": a.role, "cadre_id": a.cadre_id,
                     "display_name": a.display_name, "active": a.active, "created_at": a.created_at,
                     "scope_level": a.scope_level, "scope_id": a.scope_id}
                    for a in s.scalars(select(store.Account).order_by(store.Account.role, store.Account.username))]
    return render_template("admin/index.html", section="admin", accounts=accounts, roles=auth.ROLES,
                           cadres=_cadres(), role_names=role_names(), scope_words=scope_words(),
                           scope_levels=store.SCOPE_LEVELS)


@bp.route("/accounts", methods=["POST"])
def create():
    f = request.form
    username, password, role = f.get("username", "").strip(), f.get("password", ""), f.get("role", "")
    cadre_id = f.get("cadre_id", "").strip() or None
    errors = []
    if not username or len(username) > 64:
        errors.append(_("A user name of 1 to 64 characters is needed."))
    if len(password) < MIN_PASSWORD:
        errors.append(_("The password needs at least %(n)s characters.", n=MIN_PASSWORD))
    if role not in auth.ROLES:
        errors.append(_("Pick a role."))
    if role == "cadre" and not cadre_id:
        errors.append(_("A cadre account must be linked to a cadre."))
    known = {c for c, _name in _cadres()}
    if cadre_id and known and cadre_id not in known:
        errors.append(_("No cadre %(id)s in this campaign.", id=cadre_id))
    try:
        scope = store.check_scope(f.get("scope_level") or None, f.get("scope_id", "").strip() or None,
                                  f.get("scope_counties", ""))
    except ValueError as exc:
        errors.append(f"{scope_words()['scope']}: {exc}")
    if not errors:
        try:
            auth.create_account(username, password, role=role, cadre_id=cadre_id if role == "cadre" else None,
                                display_name=f.get("display_name", "").strip() or None, scope_level=scope[0],
                                scope_id=scope[1], scope_counties=scope[2])
        except ValueError:
            errors.append(_("The user name %(name)s is taken.", name=username))
    for e in errors:
        flash(e, "error")
    if not errors:
        flash(_("Account %(name)s created.", name=username))
    return redirect(url_for("admin.home"), 303)


@bp.route("/accounts/<int:account_id>", methods=["POST"])
def update(account_id: int):
    f = request.form
    with db.session() as s:
        acc = s.get(store.Account, account_id)
        if acc is None:
            abort(404)
        if "cadre_id" in f:
            cadre_id = f["cadre_id"].strip() or None
            known = {c for c, _name in _cadres()}
            if cadre_id and known and cadre_id not in known:
                flash(_("No cadre %(id)s in this campaign.", id=cadre_id), "error")
                return redirect(url_for("admin.home"), 303)
            if acc.role == "cadre" and not cadre_id:
                flash(_("A cadre account must be linked to a cadre."), "error")
                return redirect(url_for("admin.home"), 303)
            acc.cadre_id = cadre_id
        if "active" in f:
            acc.active = f["active"] == "1"
        if "password" in f:
            if len(f["password"]) < MIN_PASSWORD:
                flash(_("The password needs at least %(n)s characters.", n=MIN_PASSWORD), "error")
                return redirect(url_for("admin.home"), 303)
            from werkzeug.security import generate_password_hash

            acc.password_hash = generate_password_hash(f["password"])
        name = acc.username
    flash(_("Account %(name)s updated.", name=name))
    return redirect(url_for("admin.home"), 303)
