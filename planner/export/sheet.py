"""One cadre's day as plain data: the ordered stops in WGS-84 with what the visit needs."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from geodata.errors import ZoufangError

#: personal data (个人信息): only in the forms meant for the visiting cadre
PERSONAL_COLUMNS = ("name", "phone")
#: Chinese names of the visit reasons (rule names of planner/rules_default.toml)
REASON_ZH = {
    "assigned": "包户走访",
    "assigned+joint": "包户走访（联合走访）",
    "weak_village": "经济薄弱村（副处级以上干部）",
    "resettlement_community": "征收安置社区（副处级以上干部）",
    "listed_enterprise": "列统企业（副处级以上干部）",
    "poor_household": "建档立卡户（市县镇三级干部）",
}
SESSION_ZH = {"day": "白天", "evening": "晚间（社区）", "weekend": "周末（社区）"}
STATUS_ZH = {"resident": "常住户", "vacant": "空关户", "rental": "租赁户", "away": "人户分离"}


class NoSuchDay(ZoufangError, LookupError):
    """The plan has no route for that cadre and date."""


@dataclass(frozen=True)
class DaySheet:
    cadre_id: str
    date: str
    session: str
    start: str
    end: str
    team_id: str
    cadre_name: str
    team_name: str
    #: seq, mode, entity_type, entity_id, name, address, phone, kind, village, arrive, depart, travel_m, reason,
    #: reason_zh, must, joint, partners (the other cadres of a joint visit), lon, lat (WGS-84)
    stops: pd.DataFrame
    #: the day's line (start, visits in order, back) as (lon, lat)
    route: tuple[tuple[float, float], ...]
    totals: dict


def reason_zh(reason: str) -> str:
    parts = []
    for r in str(reason).split(";"):
        if r.startswith("must_visit:"):
            parts.append("必访：" + REASON_ZH.get(r[11:], r[11:]))
        elif r.startswith("accompany:"):
            parts.append("陪同必访：" + REASON_ZH.get(r[10:], r[10:]))
        else:
            parts.append(REASON_ZH.get(r, r))
    return "；".join(parts)


def day_sheet(stops: gpd.GeoDataFrame, days: gpd.GeoDataFrame, *, cadre_id: str, date: str,
              campaign=None) -> DaySheet:
    """The day of ``cadre_id`` on ``date`` (ISO) from a schedule's ``stops`` and ``days`` frames.

    With ``campaign``, stops get names, addresses, phones and kinds of the
    households and enterprises, and the cadre's and team's names.
    """
    day = days[(days["cadre_id"].astype(str) == str(cadre_id)) & (days["date"].astype(str) == str(date))]
    if day.empty:
        dates = sorted(days.loc[days["cadre_id"].astype(str) == str(cadre_id), "date"].astype(str))
        hint = f"; its dates: {', '.join(dates[:10])}{' ...' if len(dates) > 10 else ''}" if dates else \
            "; that cadre has no scheduled day"
        raise NoSuchDay(f"no route for cadre {cadre_id} on {date}{hint}")
    row = day.iloc[0]
    s = stops[(stops["cadre_id"].astype(str) == str(cadre_id)) & (stops["date"].astype(str) == str(date))]
    s = s.sort_values("seq")
    wgs = s.to_crs(4326) if s.crs is not None else s
    out = pd.DataFrame({
        "seq": s["seq"].astype(int).to_numpy(), "mode": s["mode"].to_numpy(),
        "entity_type": s["entity_type"].to_numpy(), "entity_id": s["entity_id"].astype(str).to_numpy(),
        "village_id": s["village_id"].astype(str).to_numpy(),
        "arrive": s["arrive"].to_numpy(), "depart": s["depart"].to_numpy(),
        "travel_m": s["travel_m"].astype(int).to_numpy(), "reason": s["reason"].to_numpy(),
        "must": s["must"].astype(bool).to_numpy(), "joint": (s["joint_group"] >= 0).to_numpy(),
        "lon": wgs.geometry.x.round(6).to_numpy(), "lat": wgs.geometry.y.round(6).to_numpy(),
    })
    out["reason_zh"] = [reason_zh(r) for r in out["reason"]]
    # joint visits: who else comes to the door (same group, same date)
    j = stops[(stops["joint_group"] >= 0) & (stops["date"].astype(str) == str(date))]
    names = {}
    if campaign is not None:
        names = dict(zip(campaign.cadres["cadre_id"].astype(str), campaign.cadres["name"].astype(str)))
    others = []
    for g in s["joint_group"]:
        who = j.loc[(j["joint_group"] == g) & (j["cadre_id"].astype(str) != str(cadre_id)), "cadre_id"].astype(str)
        others.append("、".join(f"{names.get(c, '')}（{c}）" if names.get(c) else c for c in who) if g >= 0 else "")
    out["partners"] = others
    out["name"], out["address"], out["phone"], out["kind"], out["village"] = "", "", "", "", ""
    cadre_name = team_name = ""
    if campaign is not None:
        _enrich(out, campaign)
        cad = campaign.cadres[campaign.cadres["cadre_id"].astype(str) == str(cadre_id)]
        if len(cad):
            cadre_name = str(cad["name"].iat[0])
        team = campaign.teams[campaign.teams["team_id"].astype(str) == str(row["team_id"])]
        if len(team):
            team_name = str(team["name"].iat[0])
    line = gpd.GeoSeries([row.geometry], crs=days.crs).to_crs(4326).iloc[0] if days.crs is not None else row.geometry
    route = tuple((round(x, 6), round(y, 6)) for x, y in line.coords) if line is not None else ()
    totals = {k: row[k] for k in ("stops", "phone_stops", "working_min", "service_min", "travel_min", "distance_m")}
    return DaySheet(str(cadre_id), str(date), str(row["session"]), str(row["start"]), str(row["end"]),
                    str(row["team_id"]), cadre_name, team_name, out, route, totals)


def _enrich(out: pd.DataFrame, campaign) -> None:
    hh = campaign.households.set_index(campaign.households["household_id"].astype(str))
    ent = campaign.enterprises
    ent = ent.set_index(ent["enterprise_id"].astype(str)) if ent is not None else None
    vil = campaign.villages.set_index(campaign.villages["village_id"].astype(str))
    for k, r in out.iterrows():
        if r["entity_type"] == "household" and r["entity_id"] in hh.index:
            h = hh.loc[r["entity_id"]]
            out.at[k, "name"] = _s(h.get("head_name"))
            out.at[k, "address"] = _s(h.get("address"))
            out.at[k, "phone"] = _s(h.get("phone"))
            kind = STATUS_ZH.get(_s(h.get("status")) or "resident", "")
            out.at[k, "kind"] = kind + ("·建档立卡户" if bool(h.get("poor")) else "")
        elif r["entity_type"] == "enterprise" and ent is not None and r["entity_id"] in ent.index:
            e = ent.loc[r["entity_id"]]
            out.at[k, "name"] = _s(e.get("name"))
            out.at[k, "kind"] = "企业" + ("·列统" if bool(e.get("listed")) else "")
        elif r["entity_type"] == "village" and r["entity_id"] in vil.index:
            out.at[k, "name"] = _s(vil.loc[r["entity_id"]].get("name")) + "村（居）委会"
            out.at[k, "kind"] = "村/社区座谈"
        if r["village_id"] in vil.index:
            out.at[k, "village"] = _s(vil.loc[r["village_id"]].get("name"))


def _s(v) -> str:
    return "" if v is None or (isinstance(v, float) and v != v) else str(v)
