"""GPX 1.1 (http://www.topografix.com/GPX/1/1): waypoints in visiting order and the day's route.

For the visiting cadre's own device: waypoint descriptions carry the
household's name, address and phone. Element order follows the GPX 1.1
schema (metadata, wpt*, rte*; inside a point: name, cmt, desc, sym, type).

:func:`validate_gpx` checks a document against the GPX 1.1 schema shipped in
the package (``gpx-1.1.xsd``, TopoGrafix's published schema, unchanged) with
lxml; nothing is fetched from the network.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from importlib import resources
from xml.sax.saxutils import escape, quoteattr

from planner.export.sheet import DaySheet

GPX_NS = "http://www.topografix.com/GPX/1/1"
SCHEMA = "http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd"
#: the GPX 1.1 schema, shipped as package data
XSD = "gpx-1.1.xsd"


@lru_cache(maxsize=1)
def _schema():
    from lxml import etree

    text = resources.files("planner.export").joinpath(XSD).read_bytes()
    # no network and no other files: the schema is self-contained
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.fromstring(text, parser))


def validate_gpx(text: str | bytes) -> list[str]:
    """Problems of a GPX document against the GPX 1.1 schema (empty list: valid).

    Each problem reads ``line N: message``; a document that is not even
    well-formed XML gives one problem saying where it breaks."""
    from lxml import etree

    data = text.encode("utf-8") if isinstance(text, str) else text
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    try:
        doc = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        return [f"line {exc.lineno}: not well-formed XML: {exc.msg}"]
    schema = _schema()
    if schema.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def to_gpx(sheet: DaySheet, *, personal: bool = True) -> str:
    """The day as a GPX 1.1 document (text)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<gpx version="1.1" creator="zoufang" xmlns="{GPX_NS}" '
             f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="{SCHEMA}">',
             "  <metadata>",
             f"    <name>{escape(f'{sheet.date} {sheet.cadre_name or sheet.cadre_id} 走访路线')}</name>",
             f"    <desc>{escape(f'{sheet.team_name or sheet.team_id} · {sheet.start}-{sheet.end} · {len(sheet.stops)} 户/处')}</desc>",
             f"    <time>{dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace('+00:00', 'Z')}</time>",
             "  </metadata>"]
    visits = sheet.stops[sheet.stops["mode"] == "visit"]
    for r in visits.itertuples():
        name = f"{r.seq}. {r.name if personal and r.name else r.entity_id}"
        desc = [f"{r.arrive}-{r.depart}", r.reason_zh] + ([f"联合走访：{r.partners}"] if r.joint else [])
        if personal:
            desc += [x for x in (r.address, r.phone and f"电话 {r.phone}", r.kind) if x]
        lines += [f"  <wpt lat={quoteattr(f'{r.lat:.6f}')} lon={quoteattr(f'{r.lon:.6f}')}>",
                  f"    <name>{escape(name)}</name>",
                  f"    <cmt>{escape(r.entity_id)}</cmt>",
                  f"    <desc>{escape(' · '.join(desc))}</desc>",
                  f"    <sym>{'Flag, Red' if r.must else 'Residence'}</sym>",
                  f"    <type>{escape(r.entity_type)}</type>",
                  "  </wpt>"]
    lines.append("  <rte>")
    lines.append(f"    <name>{escape(f'{sheet.date} {sheet.cadre_id}')}</name>")
    if sheet.route:
        lines.append(f'    <rtept lat="{sheet.route[0][1]:.6f}" lon="{sheet.route[0][0]:.6f}"><name>出发</name></rtept>')
    for r in visits.itertuples():
        lines.append(f'    <rtept lat="{r.lat:.6f}" lon="{r.lon:.6f}"><name>{escape(str(r.seq))}</name></rtept>')
    if sheet.route:
        lines.append(f'    <rtept lat="{sheet.route[-1][1]:.6f}" lon="{sheet.route[-1][0]:.6f}"><name>返回</name></rtept>')
    lines.append("  </rte>")
    lines.append("</gpx>")
    return "\n".join(lines) + "\n"
