"""The printable walk sheet (走访工作单) in Simplified Chinese: one self-contained HTML page.

A header (cadre, team, date, session, times, totals), an inline SVG map of the
day (the route and numbered stops; no tiles, scripts or other external
assets, so it prints and works offline), the ordered list (household or
enterprise, address, phone, planned time, why it must be visited) with the
contact-card (联系卡) fields and space to write the outcome and the problems
raised (走访结果、反映问题), and a signature line. For the visiting cadre only:
it carries names and phones.
"""

from __future__ import annotations

import math
from html import escape

from planner.export.sheet import SESSION_ZH, DaySheet

MAP_W, MAP_H, PAD = 680, 420, 24


def _project(points, w=MAP_W, h=MAP_H, pad=PAD):
    """lon/lat → SVG x/y (equirectangular at the mean latitude, aspect kept, y down)."""
    if not points:
        return lambda p: (w / 2, h / 2)
    lat0 = sum(p[1] for p in points) / len(points)
    k = math.cos(math.radians(lat0))
    xs = [p[0] * k for p in points]
    ys = [p[1] for p in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-6)
    scale = min((w - 2 * pad), (h - 2 * pad)) / span
    ox = (w - (max(xs) - min(xs)) * scale) / 2
    oy = (h - (max(ys) - min(ys)) * scale) / 2
    return lambda p: (ox + (p[0] * k - min(xs)) * scale, h - (oy + (p[1] - min(ys)) * scale))


def svg_map(sheet: DaySheet) -> str:
    visits = sheet.stops[sheet.stops["mode"] == "visit"]
    pts = [(r.lon, r.lat) for r in visits.itertuples()] + list(sheet.route)
    proj = _project(pts)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {MAP_W} {MAP_H}" width="{MAP_W}" height="{MAP_H}" '
             f'role="img" aria-label="当日走访路线图">',
             f'<rect x="0" y="0" width="{MAP_W}" height="{MAP_H}" fill="#fbfbf8" stroke="#999"/>']
    if sheet.route:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in map(proj, sheet.route))
        parts.append(f'<polyline points="{path}" fill="none" stroke="#c0392b" stroke-width="2" '
                     f'stroke-dasharray="6 3" stroke-linejoin="round"/>')
        sx, sy = proj(sheet.route[0])
        parts.append(f'<rect x="{sx - 7:.1f}" y="{sy - 7:.1f}" width="14" height="14" fill="#2c3e50"/>'
                     f'<text x="{sx + 10:.1f}" y="{sy + 4:.1f}" font-size="12">出发/返回</text>')
    for r in visits.itertuples():
        x, y = proj((r.lon, r.lat))
        fill = "#c0392b" if r.must else "#2471a3"
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="9" fill="{fill}" stroke="#fff" stroke-width="1.5"/>'
                     f'<text x="{x:.1f}" y="{y + 3.5:.1f}" font-size="10" text-anchor="middle" fill="#fff">{r.seq}</text>')
    # scale bar (metres at the map's latitude)
    if pts:
        lat0 = sum(p[1] for p in pts) / len(pts)
        (x0, _), (x1, _) = proj((0.0, lat0)), (proj((0.001, lat0)))
        px_per_m = abs(x1 - x0) / (111_320 * math.cos(math.radians(lat0)) * 0.001) if x1 != x0 else 0
        if px_per_m > 0:
            metres = _nice(120 / px_per_m)
            bar = metres * px_per_m
            label = f"{metres / 1000:g} 公里" if metres >= 1000 else f"{metres:g} 米"
            parts.append(f'<line x1="{PAD}" y1="{MAP_H - 12}" x2="{PAD + bar:.1f}" y2="{MAP_H - 12}" stroke="#000" '
                         f'stroke-width="3"/><text x="{PAD}" y="{MAP_H - 18}" font-size="11">{label}</text>')
    parts.append(f'<text x="{MAP_W - 8}" y="16" font-size="12" text-anchor="end">↑ 北</text></svg>')
    return "".join(parts)


def _nice(x: float) -> float:
    p = 10 ** math.floor(math.log10(max(x, 1e-9)))
    for m in (1, 2, 5, 10):
        if m * p >= x:
            return m * p
    return 10 * p


CSS = """
@page { size: A4 landscape; margin: 12mm; }
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "SimSun", sans-serif; font-size: 12px; color: #111; }
h1 { font-size: 20px; margin: 0 0 6px; text-align: center; }
.meta { display: flex; flex-wrap: wrap; gap: 4px 18px; margin-bottom: 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #555; padding: 3px 4px; vertical-align: top; }
th { background: #eee; }
td.blank { min-width: 120px; height: 34px; }
.must { color: #b03a2e; font-weight: bold; }
.box { font-family: monospace; }
.sign { margin-top: 14px; display: flex; gap: 60px; }
tr { page-break-inside: avoid; }
.map { margin: 6px 0 10px; }
"""


def to_html(sheet: DaySheet) -> str:
    """The walk sheet as one HTML document (print it from the browser, or to PDF)."""
    t = sheet.totals
    who = escape(sheet.cadre_name or sheet.cadre_id)
    team = escape(sheet.team_name or sheet.team_id)
    rows = []
    for r in sheet.stops.itertuples():
        phone = r.mode == "phone"
        mark = ' class="must"' if r.must else ""
        outcome = ("☐ 已电话/微信联系 ☐ 未接通" if phone else
                   "☐ 已走访 ☐ 不在家 ☐ 拒访 ☐ 改电话/微信")
        rows.append(
            f"<tr><td>{r.seq}</td><td>{escape(r.arrive)}–{escape(r.depart)}</td>"
            f"<td>{escape(r.name or r.entity_id)}<br><small>{escape(r.entity_id)}</small></td>"
            f"<td>{escape(r.village)} {escape(r.address)}</td><td>{escape(r.phone)}</td>"
            f"<td>{escape(r.kind)}{'<br>电话/微信走访' if phone else ''}</td><td{mark}>{escape(r.reason_zh)}"
            f"{'<br>（联合走访，同时到户：' + escape(r.partners) + '）' if r.joint else ''}</td>"
            f'<td class="box">{outcome}<br>☐ 已发联系卡</td><td class="blank"></td><td class="blank"></td></tr>')
    km = t.get("distance_m", 0) / 1000
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>走访工作单 {escape(sheet.date)} {who}</title>
<style>{CSS}</style></head>
<body>
<h1>大走访 · 走访工作单</h1>
<div class="meta">
<span>走访干部：{who}（{escape(sheet.cadre_id)}）</span><span>工作组：{team}</span>
<span>日期：{escape(sheet.date)}</span><span>时段：{escape(SESSION_ZH.get(sheet.session, sheet.session))}</span>
<span>出发 {escape(sheet.start)}，返回 {escape(sheet.end)}</span>
<span>走访 {int(t.get('stops', 0))} 户/处（其中电话/微信 {int(t.get('phone_stops', 0))}）</span>
<span>路程约 {km:.1f} 公里，途中约 {t.get('travel_min', 0):.0f} 分钟</span>
</div>
<div class="map">{svg_map(sheet)}</div>
<table>
<thead><tr><th>序号</th><th>计划时间</th><th>户主/单位</th><th>地址</th><th>联系电话</th><th>类别</th>
<th>走访事由</th><th>走访结果（联系卡）</th><th>反映问题及诉求</th><th>现场办理/交办情况</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
<div class="sign"><span>走访干部签字：__________</span><span>陪同村（社区）干部签字：__________</span>
<span>日期：{escape(sheet.date)}</span></div>
<p><small>本单含住户个人信息，仅供走访干部本人使用，走访结束后交回活动办，不得外传。</small></p>
</body></html>
"""
