"""Problem pages (/problems/, issue 6): each problem from the door to the closed case
(访办一体), the red/yellow warnings by unit and owner, and the report downloads.

- ``/problems/``            the list (a cadre: what they own or raised; leaders: names masked)
- ``/problems/<id>``        one problem, its history (every hand-over kept) and the next steps
- ``/problems/<id>/<action>`` (POST) assign, start, solve, confirm, reject, handover
- ``/problems/warnings``    red/yellow warnings of problems and of units behind schedule
- ``/problems/reports``     download the weekly, summary (附件5) and problem-list (附件4) reports

Same data and rules as :mod:`web.visits_api` (one code path). Texts are in
:data:`TEXTS` (English → Chinese), shown in the page's language.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from geodata import store
from geodata.store.vocab import ACTION_CHINESE, CATEGORIES, CATEGORY_CHINESE, LEVEL_CHINESE, STATUS_CHINESE, STATUSES
from web import db, scope
from web.auth import require_role
from web.i18n import get_language
from web.visits_api import ApiError, _names, _problem_json, _problems_for, _today, warnings_data

bp = Blueprint("problems", __name__, url_prefix="/problems", template_folder="templates")
bp.before_request(require_role("cadre", "leader", "planner", "admin"))

#: the pages' texts, English → Chinese
TEXTS = {
    "Problems": "问题清单", "Warnings": "红黄预警", "Reports": "报表下载", "All": "全部", "Status": "状态",
    "Category": "类别", "Owner": "责任人", "Filter": "筛选", "Visited": "走访对象", "Problem": "反映问题或意见建议",
    "Level": "办理层级", "Due": "办理期限", "Raised": "登记日期", "No problems.": "暂无问题。",
    "Handling suggestion": "办理意见", "Handed to": "已交办至", "Raised by": "走访人", "History": "办理记录",
    "When": "时间", "Who": "操作人", "Step": "操作", "From": "原状态", "To": "新状态", "Note": "备注",
    "Next step": "下一步", "Hand over to cadre": "移交给干部", "or to a unit (town, department)": "或移交单位（镇、部门）",
    "New due date": "新的办理期限", "No further steps: the case is closed.": "已销号，无后续操作。",
    "Saved": "已保存", "Not saved": "未保存", "Back to the list": "返回问题清单", "Reopened": "退回次数",
    "Unit": "单位", "Red": "红色预警", "Yellow": "黄色预警", "No warnings.": "暂无预警。",
    "Units behind schedule": "进度滞后的单位", "Problems near or past due": "临期或超期的问题",
    "By unit": "按单位", "By owner": "按责任人", "Schedule": "走访期限", "Units by": "单位层级",
    "grid": "网格", "village": "村/社区", "town": "镇/街道", "team": "工作组", "Report": "报表",
    "Weekly figures": "走访周报", "Half-monthly summary table (appendix 5)": "问题建议汇总表（附件5）",
    "Problem lists of the cadres (appendix 4)": "走访收集问题清单（附件4）", "First day": "开始日期",
    "Last day": "结束日期", "Download": "下载", "Household survey form": "群众入户调查表", "Outcome": "走访结果",
    "Visiting cadre": "采集人", "Contact card left": "已发放走访联系卡", "Save": "保存", "Names of households are masked in the reports for your role.":
    "按您的角色，报表中的住户姓名已脱敏。", "red": "红", "yellow": "黄", "Message": "说明",
}


def tr(message: str) -> str:
    return TEXTS.get(message, message) if get_language() == "zh" else message


def _label(chinese: dict):
    """A label function: the Chinese term in Chinese, the code word (spaces for _) in English."""
    def label(value):
        return chinese.get(value, value) if get_language() == "zh" else str(value).replace("_", " ")
    return label


_status, _category, _level, _action = (_label(STATUS_CHINESE), _label(CATEGORY_CHINESE), _label(LEVEL_CHINESE),
                                       _label(ACTION_CHINESE))


@bp.context_processor
def _helpers():
    return {"tr": tr, "status_label": _status, "category_label": _category, "level_label": _level,
            "action_label": _action, "section": "problems"}


def _cadre_names() -> dict:
    from web.data import get_data

    c = get_data().campaign.cadres
    return dict(zip(c["cadre_id"].astype(str), c["name"].astype(str)))


@bp.route("/")
def index():
    user = current_user._get_current_object()
    p = _problems_for(user)
    args = request.args
    for arg, col in (("status", "status"), ("category", "category"), ("owner", "owner_cadre_id")):
        if args.get(arg):
            p = p[p[col].astype(str) == args[arg]]
    names = _names(current_app._get_current_object())
    rows = [_problem_json(r, user, names) for _, r in p.sort_values("problem_id", ascending=False).iterrows()]
    return render_template("problems/index.html", problems=rows, statuses=STATUSES, categories=CATEGORIES,
                           cadres=_cadre_names(), args=args, today=_today())


@bp.route("/<int:problem_id>")
def detail(problem_id: int):
    user = current_user._get_current_object()
    scope.check_problem(problem_id)
    p = _problems_for(user)
    p = p[p["problem_id"] == problem_id]
    if not len(p):
        abort(404)
    with db.session() as s:
        history = store.problem_history(s, problem_id)
    problem = _problem_json(p.iloc[0], user, _names(current_app._get_current_object()))
    may_act = user.role in ("planner", "admin") or (user.role == "cadre"
                                                    and problem["owner_cadre_id"] == user.cadre_id)
    return render_template("problems/detail.html", p=problem, history=history, may_act=may_act,
                           cadres=_cadre_names())


@bp.route("/<int:problem_id>/<action>", methods=["POST"])
def act(problem_id: int, action: str):
    user = current_user._get_current_object()
    if user.role not in ("cadre", "planner", "admin"):
        abort(403)
    scope.check_problem(problem_id)
    form = request.form
    try:
        due = dt.date.fromisoformat(form["due_date"]) if form.get("due_date") else None
        with db.session() as s:
            store.transition_problem(
                s, problem_id, action, actor=user.username,
                actor_cadre_id=user.cadre_id if user.role == "cadre" else None,
                to_owner=form.get("to_owner") or None, to_unit=(form.get("to_unit") or "").strip() or None,
                note=(form.get("note") or "").strip() or None, due_date=due)
    except store.ProblemNotFound:
        abort(404)
    except store.NotOwner:
        abort(403)
    except (store.IllegalTransition, ValueError) as exc:
        flash(f"{tr('Not saved')}: {exc}", "error")
        return redirect(url_for("problems.detail", problem_id=problem_id), 303)
    flash(f"{tr('Saved')}: {_action(action)}")
    return redirect(url_for("problems.detail", problem_id=problem_id), 303)


@bp.route("/warnings")
def warnings():
    unit = request.args.get("unit", "village")
    try:
        data = warnings_data(current_user._get_current_object(), today=_today(), unit=unit)
    except ApiError as exc:
        abort(exc.status)
    from web.data import get_data

    c = get_data().campaign
    place = {"village": dict(zip(c.villages["village_id"].astype(str), c.villages["name"].astype(str)))}
    if c.towns is not None:
        place["town"] = dict(zip(c.towns["town_id"].astype(str), c.towns["name"].astype(str)))
    return render_template("problems/warnings.html", w=data, unit=unit, place=place, cadres=_cadre_names())


@bp.route("/reports")
def reports():
    if current_user.role not in ("planner", "leader", "admin"):
        abort(403)
    today = _today()
    start = today - dt.timedelta(days=today.weekday())
    return render_template("problems/reports.html", start=start, end=today,
                           masked=current_user.role not in ("planner", "admin"))


def init_app(app) -> None:
    app.register_blueprint(bp)
