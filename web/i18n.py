"""The site's languages: Simplified Chinese by default, English on request.

A small dictionary stands in for Flask-Babel until the site has enough text to
need catalogues: messages are written in English in the code and templates
(``_("Campaign map")``) and looked up here for Chinese, so moving to gettext
catalogues later changes no call site.

The language is picked, in order, from ``?lang=zh|en`` (remembered in the
session), the session, and the ``LANGUAGE`` config key (default ``zh``).
"""

from __future__ import annotations

import functools
from flask import Flask, current_app, g, has_app_context, has_request_context, request, session

LANGUAGES = ("zh", "en")
#: <html lang="..."> per language
HTML_LANG = {"zh": "zh-CN", "en": "en"}

#: English message → Simplified Chinese.
ZH: dict[str, str] = {
    # site
    "zoufang": "走访",
    "Door-to-door visiting campaign": "大走访",
    "Planner": "规划",
    "Cadre": "走访干部",
    "Leader": "领导",
    "Campaign map": "走访地图",
    "No campaign loaded": "未加载走访数据",
    "Start the site with a campaign file: zoufang serve CAMPAIGN.gpkg": "请用走访数据文件启动网站：zoufang serve CAMPAIGN.gpkg",
    # map layers
    "Base map": "底图",
    "Towns": "镇/街道",
    "Villages": "村/社区",
    "Grids": "网格",
    "Roads": "道路",
    "Households": "住户",
    "Enterprises": "企业",
    # legend and popups
    "Legend": "图例",
    "Teams": "工作组",
    "Unassigned": "未分配",
    "No plan loaded: grids are not coloured by team.": "未加载分配方案，网格未按工作组着色。",
    "Weak village (must visit)": "经济薄弱村（必访）",
    "Resettlement community (must visit)": "征收安置社区（必访）",
    "Households counted by town, village or grid (zoom in for points)": "按镇、村、网格汇总的住户数（放大显示住户点位）",
    "Town": "镇/街道",
    "Village": "村/社区",
    "Grid": "网格",
    "Team": "工作组",
    "Household": "住户",
    "Enterprise": "企业",
    "Road": "道路",
    "ID": "编码",
    "Name": "名称",
    "Kind": "类型",
    "village": "行政村",
    "community": "社区",
    "Status": "住户状态",
    "resident": "常住户",
    "vacant": "空关户",
    "rental": "租赁户",
    "away": "人户分离/流动户",
    "Class": "道路等级",
    "Listed": "列统企业",
    "Must visit": "必访",
    "weak village": "经济薄弱村",
    "resettlement community": "征收安置社区",
    "Households here": "住户数",
    "Enterprises here": "企业数",
    "yes": "是",
    "no": "否",
    "Could not load a layer": "图层加载失败",
    "households": "户",
    "villages": "个村/社区",
    "grids": "个网格",
    # accounts and access
    "Sign in": "登录",
    "Sign out": "退出",
    "Signed out": "已退出登录",
    "User name": "用户名",
    "Password": "密码",
    "Wrong user name or password": "用户名或密码错误",
    "Your role may not open this page.": "您的角色无权访问此页面。",
    "The form expired or was not sent from this site; reload the page and try again.": "表单已过期或并非从本站提交，请刷新页面后重试。",
    "Back to my home page": "返回我的首页",
    "Change password": "修改密码",
    "Current password": "当前密码",
    "New password": "新密码",
    "New password again": "再次输入新密码",
    "The current password is wrong.": "当前密码错误。",
    "The two new passwords differ.": "两次输入的新密码不一致。",
    "Password changed.": "密码已修改。",
    "Reset": "重置",
    "Accounts": "账号管理",
    "Admin": "管理员",
    "Role": "角色",
    "Display name": "显示名称",
    "Linked cadre": "关联干部",
    "Active": "启用",
    "Link": "关联",
    "Switch off": "停用",
    "Switch on": "启用",
    "New account": "新建账号",
    "Create": "创建",
    "A user name of 1 to 64 characters is needed.": "用户名须为1至64个字符。",
    "The password needs at least %(n)s characters.": "密码至少需要%(n)s个字符。",
    "Pick a role.": "请选择角色。",
    "A cadre account must be linked to a cadre.": "走访干部账号必须关联一名干部。",
    "No cadre %(id)s in this campaign.": "本次走访中没有干部%(id)s。",
    "The user name %(name)s is taken.": "用户名%(name)s已被占用。",
    "Account %(name)s created.": "账号%(name)s已创建。",
    "Account %(name)s updated.": "账号%(name)s已更新。",
    # planner: upload and validation
    "Upload a campaign": "上传走访数据",
    "A campaign GeoPackage (or GeoJSON, zipped Shapefile, Excel or CSV) is checked layer by layer; every problem is listed with the way to fix it.":
        "逐图层检查走访数据文件（GeoPackage，或GeoJSON、压缩的Shapefile、Excel、CSV），列出每个问题及修改方法。",
    "Campaign file": "走访数据文件",
    "Check the file": "检查文件",
    "Choose a campaign file first.": "请先选择走访数据文件。",
    "Unsupported file type; upload one of: %(types)s": "不支持的文件类型，请上传：%(types)s",
    "Validation report": "数据检查报告",
    "The file cannot be read:": "无法读取文件：",
    "Usable": "可以使用",
    "Not usable": "不能使用",
    "errors": "个错误",
    "warnings": "个警告",
    "Use this campaign": "使用此走访数据",
    "The uploaded campaign is now the site's campaign.": "已启用上传的走访数据。",
    "Severity": "级别",
    "Error": "错误",
    "Warning": "警告",
    "Fixed": "已修复",
    "Layer": "图层",
    "Rule": "规则",
    "Problem": "问题",
    "How to fix": "修改方法",
    "No findings: every check passed.": "未发现问题：全部检查通过。",
    # planner: plan, run, move, downloads
    "Plan and teams": "分配方案与工作组",
    "Run the assignment": "运行分组包干",
    "Time limit (s)": "求解时限（秒）",
    "Seed": "随机种子",
    "Schedule from": "排程开始日期",
    "Deadline": "截止日期",
    "Run": "运行",
    "Leave the dates empty to assign teams only; with dates, the days of every cadre are scheduled and routed too.":
        "不填日期则只分配工作组；填写日期则同时为每名干部排定走访日程和路线。",
    "A planning run is already going on.": "已有一次规划正在运行。",
    "Waiting": "等待中",
    "Running": "运行中",
    "Done": "已完成",
    "Failed": "失败",
    "Assigning teams": "正在分组包干",
    "Scheduling days": "正在排定日程",
    "Counties planned": "已规划区县",
    "No plan yet: run the assignment first.": "尚无分配方案：请先运行分组包干。",
    "Download the plan (GeoPackage)": "下载分配方案（GeoPackage）",
    "Download team lists (Excel)": "下载工作组名单（Excel）",
    "Team territories on the map": "在地图上查看工作组责任区",
    "Scheduled": "已排程",
    "Not scheduled": "未排程",
    "Level": "层级",
    "City level": "市级",
    "County level": "县级",
    "Town level": "镇级",
    "Solver status": "求解状态",
    "Gap to the bound": "与下界差距",
    "Cadre-days": "干部工作日",
    "Stops": "走访点",
    "First visit": "首次走访",
    "Last visit": "末次走访",
    "Visits not fitting before the deadline": "截止前排不下的走访",
    "Cadres": "干部数",
    "Move a grid to another team": "将网格调整给其他工作组",
    "Move to another team": "调整给其他工作组",
    "To team": "调至工作组",
    "Check the move": "检查调整",
    "The grid already belongs to this team.": "该网格已属于此工作组。",
    "This move breaks hard rules; it cannot be saved:": "此调整违反硬性规则，不能保存：",
    "Every hard rule still holds.": "所有硬性规则仍然满足。",
    "The schedule was made for the old teams: saving drops it; run the scheduling again.": "原日程按调整前的工作组排定，保存后将作废，请重新排程。",
    "Save the move": "保存调整",
    "Back to the plan": "返回分配方案",
    "Grid %(grid)s moved to %(team)s.": "网格%(grid)s已调整给%(team)s。",
    # cadre
    "Route of the day": "今日走访路线",
    "Not today: the route of %(date)s.": "非今日：显示%(date)s的路线。",
    "Date": "日期",
    "Show": "显示",
    "No route scheduled for you yet. Ask the campaign office (活动办) to schedule the campaign.": "尚未为您排定走访路线，请联系活动办排程。",
    "stops": "处",
    "Download GPX": "下载GPX轨迹",
    "Printable walk sheet": "打印走访工作单",
    "by phone": "电话走访",
    "Record the visit": "登记走访",
    "Outcome": "走访结果",
    "Visited": "入户走访",
    "Not at home": "不在家",
    "Refused": "拒访",
    "Phone or WeChat visit": "电话/微信走访",
    "Contact card left": "已留走访联系卡",
    "Problem raised (optional)": "反映问题（可不填）",
    "Category": "问题类别",
    "Difficulty needs": "困难需求",
    "Housing and land": "房屋土地",
    "Medical and health": "医疗卫生",
    "Education and culture": "教育文化",
    "Safety and governance": "平安治理",
    "Employment and entrepreneurship": "就业创业",
    "Social security": "社会保障",
    "Other": "其他方面",
    "Who must solve it": "办理层级",
    "Solved on the spot": "即知即办",
    "Town or village": "镇村层面",
    "County or city department": "县市部门",
    "Policy level": "政策层面",
    "Notes": "备注",
    "Save": "保存",
    "Saved: %(outcome)s": "已保存：%(outcome)s",
    "Not saved: %(errors)s": "未保存：%(errors)s",
    # leader
    "Coverage": "走访覆盖",
    "as of": "截至",
    "Covered (households and enterprises)": "覆盖率（住户和企业）",
    "of": "共",
    "households covered": "户已覆盖",
    "enterprises covered": "家企业已覆盖",
    "not at home, to revisit": "户不在家待回访",
    "must-visits done": "项必访已完成",
    "problems solved": "个问题已解决",
    "Coverage map": "覆盖地图",
    "Download the households not yet covered (Excel)": "下载未覆盖住户名单（Excel）",
    "Household covered": "已覆盖住户",
    "Household not yet covered": "未覆盖住户",
    "Coverage by grid / village (0–100%)": "网格/村覆盖率（0–100%）",
    "Must-visit village (dashed: not yet visited)": "必访村（虚线：尚未走访）",
    "Coverage by grid": "网格覆盖率",
    "Heat map of households not yet covered": "未覆盖住户热力图",
    "Coverage by village": "村/社区覆盖率",
    "Households covered / not covered": "住户已覆盖/未覆盖",
    "Progress against the deadline": "对照截止日期的进度",
    "Progress": "进度",
    "Pace": "当前速度",
    "per day": "户（家）/天",
    "remaining": "剩余",
    "forecast finish": "预计完成",
    "no pace yet: no finish date": "尚无进度，无法预测完成日期",
    "deadline": "截止日期",
    "Warnings": "红黄预警",
    "Red": "红色",
    "Yellow": "黄色",
    "Unit": "单位",
    "Owner": "责任人",
    "No warnings.": "暂无预警。",
    "Weekly figures": "每周汇总",
    "Week": "周",
    "Cadres out": "干部走访人数",
    "Households visited": "走访户数",
    "Enterprises visited": "走访企业数",
    "Problems collected": "收集问题数",
    "Problems solved": "解决问题数",
    "Roll-up by town, village and grid": "按镇、村、网格汇总",
    "Covered": "已覆盖",
    "Must-visits (四个必到)": "四个必到",
    "Due": "应访",
    "Not yet done": "尚未完成的必访",
    "and %(n)s more": "另有%(n)s条",
    "The plan has no must-visits.": "分配方案中没有必访任务。",
    "Loading…": "正在加载…",
    "Could not load this part of the page; reload to try again.": "此部分加载失败，请刷新页面重试。",
    # the plan's soft goals (planner page, move check, team lists)
    "Assignment time (s)": "分配用时（秒）",
    "Scheduling time (s)": "排程用时（秒）",
    "Soft goals": "软目标",
    "bent": "有偏离",
    "kept": "已满足",
    "Balance": "负荷均衡",
    "Contiguity": "责任区连片",
    "Compactness": "责任区紧凑",
    "Must-visits by the responsible team": "必访由责任工作组干部完成",
    "workload per cadre max/mean %(mm)s; load / share from %(lo)s to %(hi)s (band ±%(tol)s); %(n)s team(s) outside the band":
        "每名干部工作量 最大/平均 %(mm)s；工作组负荷/份额 %(lo)s 至 %(hi)s（区间 ±%(tol)s）；%(n)s 个工作组超出区间",
    "%(n)s of %(m)s team territories are not in one piece": "%(m)s 个工作组中有 %(n)s 个责任区不连片",
    "mean distance from a grid to its team's base %(km)s km, at most %(max)s km":
        "网格到工作组驻点平均 %(km)s 公里，最远 %(max)s 公里",
    "%(n)s of %(m)s must-visits are joint visits with a cadre of another team":
        "%(m)s 项必访中有 %(n)s 项由其他工作组干部联合走访",
    "Each team that bends a goal says why in the last column.":
        "未满足目标的工作组在最后一列说明原因（点击展开，详细说明为英文，含具体数字）。",
    "Workload (h)": "工作量（小时）",
    "Share (h)": "份额（小时）",
    "Load / share": "负荷比",
    "Pieces": "片数",
    "Why": "原因",
    "Balance band: ±%(tol)s of each team share. Soft goals may be bent by hand, hard rules may not.":
        "均衡区间为各工作组份额的 ±%(tol)s；手工调整可以偏离软目标，但不能违反硬性规则。",
    "Its grids lie in parts of the map that touch nowhere": "其网格分布在互不相连的地块上（地理条件所致）",
    "No set of touching villages within its quota and balance band: the rules force it":
        "没有符合配额和均衡区间的相连村组合：由规则决定",
    "No set of touching villages within its quota and balance band was found":
        "未找到符合配额和均衡区间的相连村组合（未证明不存在）",
    "Touching villages within its quota and band exist; the search found no cheaper plan with them together":
        "存在符合配额和均衡区间的相连村组合，但求解未找到按规则权重更优的连片方案",
    "Its stray pieces touch only teams of whole villages that cannot take them":
        "零散片区周边只有整村包干的工作组，且都无法接收",
    "The balance band holds it in pieces": "受均衡区间限制而不连片",
    "It may only work in its own town": "只能在本镇工作，均衡要求带入了不相连的地块",
    "The solver traded it for balance or compactness": "求解器为均衡或紧凑作出的取舍（延长求解时间可能改善）",
    "A single hand-over would bring it inside the band; the search did not keep it":
        "一次移交即可进入均衡区间，但求解未采用",
    "No other team touches its territory": "没有其他工作组与其责任区相邻",
    "No single hand-over across its boundary fixes it": "边界上任何一次移交都无法使其进入均衡区间",
    ": mostly because ": "，主要原因是",
    "the other team may not work there": "对方工作组不能在该处工作",
    "it would split a village of a team that takes them whole": "会拆分整村包干工作组的村",
    "it would put a team over its village quota": "会使工作组超出村数配额",
    "it would put a team under its village quota": "会使工作组低于村数配额",
    "it would push the taking team above the band": "会使接收方超出均衡区间",
    "it would leave the giving team below the band": "会使移出方低于均衡区间",
    "it would not be enough to reach the band": "移交量不足以进入均衡区间",
    "it would cut the giving team's territory in two": "会使移出方责任区断开",
    "; %(forced)s of them because the responsible team has no cadre the rule asks for (e.g. a poor household needs cadres of the city, county and town levels)":
        "，其中 %(forced)s 项因责任工作组没有规则要求的干部（如建档立卡户需市、县、镇三级干部各一名）",
    "Keep close to the current plan": "尽量保持现有方案",
    "Reproducible": "可复现",
    "The same seed and data give the same plan, whatever else the server is doing; the run may then take longer than its time limit.":
        "相同的随机种子和数据总是得到相同的方案，不受服务器负载影响；运行时间可能超过设定的求解时限。",
    "Plans made": "历次方案",
    "Every run and every saved hand edit is kept as a plan file. Compare them and make an earlier one current again (its schedule comes with it).":
        "每次运行和每次保存的手工调整都保存为方案文件。可在此比较，并将之前的方案重新设为当前方案（连同其排程）。",
    "No plan made on this site yet.": "本网站尚未生成方案。",
    "Made": "生成时间",
    "How": "方式",
    "Objective": "目标值",
    "Workload max/mean": "工作量 最大/平均",
    "Teams outside the band": "超出区间的工作组",
    "Territories in pieces": "不连片的责任区",
    "Grids moved": "调整的网格",
    "Hand edit": "手工调整",
    "Loaded when the site started": "网站启动时加载",
    "Uploaded": "上传",
    "Upload a plan as one of: %(types)s": "请上传以下格式的方案：%(types)s",
    "%(file)s: every hard rule holds; kept as %(name)s below (make it current to use it).":
        "%(file)s：所有硬性规则均满足，已保存为下方的 %(name)s（设为当前方案后生效）。",
    "Check an uploaded plan": "检查上传的方案",
    "This file cannot be read as a plan of the campaign:": "该文件无法作为本次走访的方案读取：",
    "This plan breaks hard rules; it was not kept:": "该方案违反硬性规则，未保存：",
    "Back to the plans made": "返回历次方案",
    "A plan made elsewhere (grid → team: Excel or CSV with 网格编码 and 工作组, or a GeoPackage)":
        "其他方式制定的方案（网格→工作组：含“网格编码”和“工作组”列的 Excel 或 CSV，或 GeoPackage）",
    "Check and keep": "检查并保存",
    "Current plan": "当前方案",
    "Make current": "设为当前方案",
    "%(name)s is the current plan again.": "%(name)s 已重新设为当前方案。",
    "The gap is measured against a lower bound that does not see contiguity (a linear relaxation), so it overstates the room left in the plan (see the README's performance section).":
        "“与下界差距”是相对于不考虑连片的线性松弛下界计算的，因此高估了方案的改进空间（见 README 的性能部分）。",
    "Soft-goal weights for this run": "本次运行的软目标权重",
    "Balance band (± % of the share)": "均衡区间（份额的 ±%）",
    "Per hour outside the band": "超出区间每小时的权重",
    "Per km from the base": "距驻点每公里的权重",
    "Per cut edge between teams": "责任区之间每条相邻边的权重",
    "Per extra piece of a territory": "责任区每多一片的权重",
    "Per household moved (keeping close)": "保持方案时每调整一户的权重",
    "The reasons below say which weight to raise to prefer a goal; the other rules of the rules file (must-visits, quotas, workload) stay as they are.":
        "下方各工作组的原因说明了应提高哪项权重以优先满足某一目标。规则文件中的其他规则（必访、配额、工作量）保持不变。",
    "Keeping close to the current plan moves only what changed data or rules need (after a new team, an absent cadre, households added).":
        "保持现有方案时，只调整数据或规则变化所必需的部分（如新增工作组、干部请假、新增住户）。",
    "Stability": "方案稳定",
    "%(grids)s grid(s), %(households)s household(s) and %(enterprises)s enterprise(s) moved to another team since the previous plan; %(new)s new grid(s)":
        "与原方案相比，%(grids)s 个网格、%(households)s 户、%(enterprises)s 家企业调整了工作组；新增网格 %(new)s 个",
}

TRANSLATIONS = {"zh": ZH, "en": {}}


def get_language() -> str:
    """The language of the current request (``zh`` outside a request)."""
    if has_request_context():
        # worked out once per request: a county's roll-up asks 30,000 times
        # (kept with the request object: nested test request contexts share ``g``)
        req = request._get_current_object()
        cached = g.get("zoufang_lang")
        if cached is None or cached[0] is not req:
            cached = g.zoufang_lang = (req, _request_language())
        return cached[1]
    return _default_language()


def _request_language() -> str:
    # ``request.args.get`` raises and catches a KeyError when the key is absent
    if "lang" in request.args and request.args["lang"] in LANGUAGES:
        return request.args["lang"]
    lang = session.get("lang")
    if lang in LANGUAGES:
        return lang
    return _default_language()


def _default_language() -> str:
    if has_app_context():
        lang = current_app.config.get("LANGUAGE")
        if lang in LANGUAGES:
            return lang
    return "zh"


def gettext(message: str, **values) -> str:
    """``message`` in the current language, ``%(name)s`` placeholders filled."""
    text = TRANSLATIONS[get_language()].get(message, message)
    return text % values if values else text


_ = gettext


def messages(keys) -> dict[str, str]:
    """English key → translated text, for handing labels to JavaScript."""
    return {k: gettext(k) for k in keys}


# --- dates and numbers ---------------------------------------------------------------------
#
# One place for how the site writes dates, times and numbers (Babel's CLDR data,
# offline). Chinese conventions (as in official documents): 2026年11月25日, short
# 11月25日, weekday 周三, times on the 24-hour clock (14:05), counts grouped by
# thousands (299,714 户), large counts optionally in 万 (29.97万), percentages
# 87.5%. English: Nov 25, 2026, Nov 25, Wed, 14:05, 299,714, 87.5%.
# Registered as Jinja filters (see :func:`init_app`); static/js/format.js does the
# same in the browser with Intl (built into Chromium).

#: Babel locale per site language
BABEL_LOCALE = {"zh": "zh_CN", "en": "en_US"}
#: date forms: long (2026年11月25日 / Nov 25, 2026), short (11月25日 / Nov 25),
#: weekday (周三 / Wed), day (11月25日周三 / Wed, Nov 25)
DATE_FORMS = ("long", "short", "weekday", "day")
_SKELETONS = {"short": "MMMd", "weekday": "EEE", "day": "MMMEd"}
_LONG = {"zh": "long", "en": "medium"}  # CLDR's names for 2026年11月25日 and Nov 25, 2026


def babel_locale(lang: str | None = None):
    """The Babel ``Locale`` of ``lang`` (default: the request's language), parsed once."""
    return _locale(lang or get_language())


@functools.cache
def _locale(lang: str):
    from babel import Locale

    return Locale.parse(BABEL_LOCALE[lang])  # 1 ms a parse: never per call


def _as_date(value):
    import datetime as dt

    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return value.to_pydatetime().date()
    return dt.date.fromisoformat(str(value)[:10])


def format_date(value, form: str = "long", *, lang: str | None = None) -> str:
    """A date for people: ``2026年11月25日`` (``form="long"``), ``11月25日``
    (``short``), ``周三`` (``weekday``), ``11月25日周三`` (``day``); English
    ``Nov 25, 2026``, ``Nov 25``, ``Wed``, ``Wed, Nov 25``. Accepts dates,
    datetimes, pandas Timestamps and ISO strings; empty values give ``""``."""
    from babel import dates

    if value is None or value == "" or (isinstance(value, float) and value != value):
        return ""
    if form not in DATE_FORMS:
        raise ValueError(f"date form must be one of {', '.join(DATE_FORMS)}, not {form!r}")
    lang = lang or get_language()
    try:
        d = _as_date(value)
    except (TypeError, ValueError):
        return str(value)
    loc = babel_locale(lang)
    if form == "long":
        return dates.format_date(d, _LONG[lang], locale=loc)
    return dates.format_skeleton(_SKELETONS[form], d, locale=loc)


def format_time(value, *, lang: str | None = None) -> str:
    """A time of day on the 24-hour clock: ``14:05`` (both languages)."""
    import datetime as dt

    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value) if len(value) > 8 else dt.time.fromisoformat(value)
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    return f"{value.hour:02d}:{value.minute:02d}"


def format_datetime(value, *, lang: str | None = None) -> str:
    """Date and 24-hour time: ``2026年11月25日 14:05`` / ``Nov 25, 2026 14:05``."""
    import datetime as dt

    if value is None or value == "" or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if not isinstance(value, dt.datetime):
        return format_date(value, lang=lang)
    return f"{format_date(value, lang=lang)} {format_time(value)}"


def format_date_range(start, end, *, lang: str | None = None) -> str:
    """``2026年3月2日–8日``-style ranges kept simple and unambiguous:
    ``3月2日 – 3月8日`` within one year, else both dates in full."""
    if not start or not end:
        return f"{format_date(start, lang=lang)} – {format_date(end, lang=lang)}".strip(" –")
    if _as_date(start).year == _as_date(end).year:
        return f"{format_date(start, 'short', lang=lang)} – {format_date(end, 'short', lang=lang)}"
    return f"{format_date(start, lang=lang)} – {format_date(end, lang=lang)}"


def format_number(value, *, lang: str | None = None) -> str:
    """A count for people: digits grouped by thousands (299,714), which Chinese
    official documents use as well. Non-numbers are returned as text."""
    from babel.numbers import format_decimal

    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    try:
        number = int(value) if float(value).is_integer() else float(value)
    except (TypeError, ValueError):
        return str(value)
    lang = lang or get_language()
    group = _int_group_symbol(lang)
    if group is not None and isinstance(number, int):
        # the locale groups whole numbers by three: Python's grouping with the
        # locale's symbol gives Babel's text 6x faster (a county's roll-up has 20,000 numbers)
        return f"{number:,}".replace(",", group)
    return format_decimal(number, locale=babel_locale(lang))


@functools.cache
def _int_group_symbol(lang: str) -> str | None:
    """The locale's grouping symbol when it groups whole numbers by three (else None)."""
    from babel.numbers import format_decimal

    loc = _locale(lang)
    sym = loc.number_symbols["latn"]["group"]
    probe = format_decimal(1234567, locale=loc)
    return sym if probe == f"{1234567:,}".replace(",", sym) else None


def format_count(value, *, lang: str | None = None) -> str:
    """A large count shortened for headlines: ``29.97万`` (zh, from 10万 up),
    ``299.7K`` (en, from 100,000 up); smaller counts as :func:`format_number`."""
    try:
        n = float(value)
    except (TypeError, ValueError):
        return str(value)
    lang = lang or get_language()
    if lang == "zh" and abs(n) >= 100_000:
        return f"{format_number(round(n / 10_000, 2), lang=lang)}万"
    if lang == "en" and abs(n) >= 100_000:
        return f"{format_number(round(n / 1_000, 1), lang=lang)}K"
    return format_number(value, lang=lang)


def format_percent(ratio, digits: int = 1, *, lang: str | None = None) -> str:
    """A ratio as a percentage: 0.875 → ``87.5%`` (``digits`` decimals)."""
    try:
        r = float(ratio)
    except (TypeError, ValueError):
        return str(ratio)
    if r != r or r in (float("inf"), float("-inf")):  # no ratio (0 of 0)
        return ""
    # rounded half up (四舍五入, as statistics offices and the browser's Intl do;
    # Babel alone rounds half to even), from the decimal text of the float
    from decimal import ROUND_HALF_UP, Decimal

    pct = (Decimal(repr(r)) * 100).quantize(Decimal(1).scaleb(-int(digits)), rounding=ROUND_HALF_UP)
    return _percent_pattern(int(digits)).apply(pct / 100, babel_locale(lang))


@functools.cache
def _percent_pattern(digits: int):
    from babel.numbers import parse_pattern

    return parse_pattern("#,##0" + ("." + "0" * digits if digits > 0 else "") + "%")


def format_value(value, *, lang: str | None = None) -> str:
    """A value of unknown kind for people: an ISO date (2026-03-02, optionally
    with a time) as a date, a whole number as a count, anything else as text."""
    import re

    text = "" if value is None else str(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return format_date(text, lang=lang)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?", text):
        return format_datetime(text, lang=lang)
    if re.fullmatch(r"-?\d+", text):
        return format_number(int(text), lang=lang)
    return text


def _remember_language():
    lang = request.args.get("lang")
    if lang in LANGUAGES:
        session["lang"] = lang


def _template_globals():
    lang = get_language()
    return {
        "_": gettext,
        "lang": lang,
        "html_lang": HTML_LANG[lang],
        "other_lang": "en" if lang == "zh" else "zh",
    }


def init_app(app: Flask) -> None:
    if app.config.get("LANGUAGE") not in LANGUAGES:
        raise ValueError(f"LANGUAGE must be one of {', '.join(LANGUAGES)}, not {app.config.get('LANGUAGE')!r}")
    app.before_request(_remember_language)
    app.add_template_filter(format_number, "num")
    app.add_template_filter(format_count, "count")
    app.add_template_filter(format_percent, "percent")
    app.add_template_filter(format_date, "date")
    app.add_template_filter(format_time, "time")
    app.add_template_filter(format_datetime, "datetime")
    app.add_template_filter(format_date_range, "date_range")
    app.add_template_filter(format_value, "value")
    app.context_processor(_template_globals)
