"""The site's languages: Simplified Chinese by default, English on request.

A small dictionary stands in for Flask-Babel until the site has enough text to
need catalogues: messages are written in English in the code and templates
(``_("Campaign map")``) and looked up here for Chinese, so moving to gettext
catalogues later changes no call site.

The language is picked, in order, from ``?lang=zh|en`` (remembered in the
session), the session, and the ``LANGUAGE`` config key (default ``zh``).
"""

from __future__ import annotations

from flask import Flask, current_app, has_app_context, has_request_context, request, session

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
    "Coming soon": "即将推出",
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
    # placeholders
    "Cadre pages: today's route and stop list, GPX and walk sheet downloads, and recording each visit's outcome and the problems raised.":
        "走访干部页面：今日路线和走访清单，下载GPX轨迹与走访单，记录每户走访结果和反映的问题。",
    "Leader pages: coverage map and heat map, roll-up by town, village and grid, progress against the deadline and warnings for units behind schedule.":
        "领导页面：走访覆盖地图与热力图，按镇、村、网格汇总，对照截止日期的进度预测，以及滞后单位预警。",
}

TRANSLATIONS = {"zh": ZH, "en": {}}


def get_language() -> str:
    """The language of the current request (``zh`` outside a request)."""
    if has_request_context():
        lang = request.args.get("lang")
        if lang in LANGUAGES:
            return lang
        lang = session.get("lang")
        if lang in LANGUAGES:
            return lang
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


def format_number(value) -> str:
    """A count for people: digits grouped by thousands (1,234,567), which
    Chinese official documents use as well."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


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
    app.context_processor(_template_globals)
