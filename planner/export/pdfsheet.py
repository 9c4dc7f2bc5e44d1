"""The printable walk sheet (走访工作单) as a PDF, in Simplified Chinese, made offline.

The same content as the HTML sheet (:mod:`planner.export.walksheet`): a header
(cadre, team, date, session, times, totals), a map of the day drawn with
matplotlib (the route and numbered stops on a plain background: no tile
server), the ordered list (household or enterprise, address, phone, planned
time, why it must be visited), the contact-card (联系卡) fields, space to
write the outcome and the problems raised, and a signature line. A4
landscape, built with reportlab. For the visiting cadre only: it carries
names and phones, like the HTML sheet.

Chinese glyphs: the first CJK TrueType font found (``ZOUFANG_CJK_FONT``, then
the usual Debian/Ubuntu, macOS and Windows paths, e.g. Debian's
``fonts-wqy-microhei``) is embedded; without one, reportlab's built-in CID font
``STSong-Light`` is used (the PDF viewer supplies the glyphs) and a
:class:`FontWarning` says so.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from planner.export.sheet import SESSION_ZH, DaySheet
from planner.export.walksheet import _nice  # the scale bar's round length, as on the HTML sheet

#: TrueType fonts (or collections) with Chinese glyphs, tried in order after ``ZOUFANG_CJK_FONT``
CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/arphic/ukai.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansSC-Regular.ttf",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/simhei.ttf",
    "C:/Windows/Fonts/simsun.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)
FALLBACK_FONT = "STSong-Light"
_FONT = "ZoufangCJK"


class FontWarning(UserWarning):
    """No CJK TrueType font was found: the PDF relies on the viewer's font for Chinese."""


@lru_cache(maxsize=1)
def cjk_font() -> tuple[str, str | None]:
    """(reportlab font name, path of the embedded TrueType file or None for the CID fallback)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    env = os.environ.get("ZOUFANG_CJK_FONT")
    for path in ([env] if env else []) + list(CJK_FONTS):
        if not Path(path).is_file():
            continue
        try:
            font = TTFont(_FONT, path, subfontIndex=0) if path.lower().endswith(".ttc") else TTFont(_FONT, path)
            if not font.face.charToGlyph.get(ord("访")):
                continue
        except (TTFError, OSError, KeyError):  # a PostScript-flavoured OpenType collection, a broken file
            continue
        pdfmetrics.registerFont(font)
        return _FONT, path
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
    return FALLBACK_FONT, None


def _map_png(sheet: DaySheet, width_in: float, height_in: float) -> bytes:
    """The day's route and numbered stops as a PNG (matplotlib, no text but numbers: any font will do)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    visits = sheet.stops[sheet.stops["mode"] == "visit"]
    pts = [(r.lon, r.lat) for r in visits.itertuples()] + list(sheet.route)
    lat0 = sum(p[1] for p in pts) / len(pts) if pts else 0.0
    k = math.cos(math.radians(lat0))
    fig = Figure(figsize=(width_in, height_in), dpi=150)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_facecolor("#fbfbf8")
    if sheet.route:
        xs, ys = zip(*sheet.route)
        ax.plot([x * k for x in xs], ys, color="#c0392b", lw=1.6, ls=(0, (5, 2.5)), zorder=1)
        ax.scatter([sheet.route[0][0] * k], [sheet.route[0][1]], marker="s", s=260, color="#2c3e50", zorder=1.5)
    for r in visits.itertuples():
        ax.scatter([r.lon * k], [r.lat], s=170, color="#c0392b" if r.must else "#2471a3", edgecolors="white",
                   linewidths=1.2, zorder=2)
        ax.annotate(str(r.seq), (r.lon * k, r.lat), ha="center", va="center", fontsize=7, color="white", zorder=4)
    if pts:
        # equal scale on both axes (x is already lon × cos(lat)): widen the short side to the frame's shape
        x0, x1 = min(p[0] for p in pts) * k, max(p[0] for p in pts) * k
        y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
        pad = max(x1 - x0, y1 - y0, 2e-4) * 0.08
        x0, x1, y0, y1 = x0 - pad, x1 + pad, y0 - pad, y1 + pad
        frame = width_in / height_in
        if (x1 - x0) / (y1 - y0) < frame:
            grow = ((y1 - y0) * frame - (x1 - x0)) / 2
            x0, x1 = x0 - grow, x1 + grow
        else:
            grow = ((x1 - x0) / frame - (y1 - y0)) / 2
            y0, y1 = y0 - grow, y1 + grow
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        # scale bar: about a fifth of the width, a round number of metres (1 degree of latitude = 111.32 km)
        span_m = (ax.get_xlim()[1] - ax.get_xlim()[0]) * 111_320
        metres = _nice(span_m / 5)
        bx, by = ax.get_xlim()[0] + pad * 0.5, ax.get_ylim()[0] + pad * 0.4
        ax.plot([bx, bx + metres / 111_320], [by, by], color="black", lw=3, zorder=5)
        ax.annotate(f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m", (bx, by), xytext=(0, 5),
                    textcoords="offset points", fontsize=7)
        ax.annotate("N", (0.97, 0.93), xycoords="axes fraction", ha="center", fontsize=9, weight="bold")
        ax.annotate("", (0.97, 0.92), xytext=(0.97, 0.82), xycoords="axes fraction",
                    arrowprops={"arrowstyle": "-|>", "color": "black"})
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("#999999")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150)
    return buf.getvalue()


def to_pdf(sheet: DaySheet) -> bytes:
    """The walk sheet as PDF bytes (A4 landscape; the map on page 1, the list after it)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font, path = cjk_font()
    if path is None:
        warnings.warn(f"no CJK TrueType font found (tried ZOUFANG_CJK_FONT and {len(CJK_FONTS)} usual paths; on "
                      f"Debian: apt-get install fonts-wqy-microhei): the PDF uses the built-in CID font "
                      f"{FALLBACK_FONT}, whose glyphs come from the PDF viewer", FontWarning, stacklevel=2)
    page = landscape(A4)
    margin = 12 * mm
    width = page[0] - 2 * margin
    base = ParagraphStyle("base", fontName=font, fontSize=8.5, leading=11, wordWrap="CJK")
    small = ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5)
    title = ParagraphStyle("title", parent=base, fontSize=17, leading=22, alignment=1)
    meta = ParagraphStyle("meta", parent=base, fontSize=9.5, leading=13)
    t = sheet.totals
    who = escape(sheet.cadre_name or sheet.cadre_id)
    team = escape(sheet.team_name or sheet.team_id)
    km = float(t.get("distance_m", 0) or 0) / 1000
    story = [
        Paragraph("大走访 · 走访工作单", title), Spacer(1, 2 * mm),
        Paragraph(f"走访干部：{who}（{escape(sheet.cadre_id)}）　工作组：{team}　日期：{escape(sheet.date)}　"
                  f"时段：{escape(SESSION_ZH.get(sheet.session, sheet.session))}　出发 {escape(sheet.start)}，"
                  f"返回 {escape(sheet.end)}", meta),
        Paragraph(f"走访 {int(t.get('stops', 0))} 户/处（其中电话/微信 {int(t.get('phone_stops', 0))}）　"
                  f"路程约 {km:.1f} 公里，途中约 {float(t.get('travel_min', 0) or 0):.0f} 分钟", meta),
        Spacer(1, 2 * mm),
    ]
    map_w, map_h = width, 118 * mm
    story.append(Image(io.BytesIO(_map_png(sheet, map_w / 72, map_h / 72)), width=map_w, height=map_h))
    story.append(Paragraph("图例：■ 出发/返回地点　● 蓝色：包户走访　● 红色：必访（四个必到）　虚线：走访顺序　"
                           "圆内数字：序号（与下表一致）　N：北", small))
    story.append(Spacer(1, 3 * mm))

    head = ["序号", "计划时间", "户主/单位", "地址", "联系电话", "类别", "走访事由", "走访结果（联系卡）",
            "反映问题及诉求", "现场办理/交办情况"]
    rows = [[Paragraph(h, base) for h in head]]
    musts = []
    for n, r in enumerate(sheet.stops.itertuples(), start=1):
        phone = r.mode == "phone"
        outcome = ("□ 已电话/微信联系　□ 未接通" if phone else "□ 已走访　□ 不在家　□ 拒访　□ 改电话/微信")
        why = escape(r.reason_zh) + (f"<br/>（联合走访，同时到户：{escape(r.partners)}）" if r.joint else "")
        if r.must:
            musts.append(n)
        rows.append([
            Paragraph(str(r.seq), base), Paragraph(f"{escape(r.arrive)}–{escape(r.depart)}", base),
            Paragraph(f"{escape(r.name or r.entity_id)}<br/><font size=6.5>{escape(r.entity_id)}</font>", base),
            Paragraph(f"{escape(r.village)} {escape(r.address)}", base), Paragraph(escape(r.phone), base),
            Paragraph(escape(r.kind) + ("<br/>电话/微信走访" if phone else ""), base),
            Paragraph(why, base), Paragraph(f"{outcome}<br/>□ 已发联系卡", small), "", "",
        ])
    widths = [x * mm for x in (11, 25, 30, 38, 24, 20, 36, 38, 26, 25)]
    widths[-1] += width - sum(widths)
    table = Table(rows, colWidths=widths, repeatRows=1)
    style = [("FONTNAME", (0, 0), (-1, -1), font), ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#555555")),
             ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")), ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("ROWHEIGHT", (0, 1), (-1, -1), 30)]
    style += [("TEXTCOLOR", (6, n), (6, n), colors.HexColor("#b03a2e")) for n in musts]
    table.setStyle(TableStyle(style))
    story += [table, Spacer(1, 6 * mm),
              Paragraph(f"走访干部签字：__________　　　陪同村（社区）干部签字：__________　　　日期："
                        f"{escape(sheet.date)}", meta), Spacer(1, 2 * mm),
              Paragraph("本单含住户个人信息，仅供走访干部本人使用，走访结束后交回活动办，不得外传。", small)]

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawRightString(page[0] - margin, 6 * mm,
                               f"{sheet.date} {sheet.cadre_name or sheet.cadre_id} 走访工作单 · 第 {doc.page} 页")
        canvas.restoreState()

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=page, leftMargin=margin, rightMargin=margin, topMargin=margin,
                            bottomMargin=margin, title=f"走访工作单 {sheet.date} {sheet.cadre_name or sheet.cadre_id}",
                            author="zoufang", subject="大走访 走访工作单")
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()
