"""The campaign file format: every layer, every column, its type and its Chinese term.

This module is the single source of truth for the campaign data format. The
template writer, the validator, the importers and the README's tables are all
derived from :data:`LAYERS`.

A campaign file is a GeoPackage (or a folder / zip of GeoJSON or Shapefile files
named after the layers). Extra columns are allowed and carried through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

GeomType = Literal["Polygon", "Point", "LineString", None]

#: Allowed values of the categorical columns.
VILLAGE_KINDS = ("village", "community")
HOUSEHOLD_STATUSES = ("resident", "vacant", "rental", "away")
TEAM_LEVELS = ("city", "county", "town")
CADRE_LEVELS = ("city", "county", "town", "village")
#: Ranks, lowest first. Compare with :func:`rank_index`.
RANKS = (
    "staff",
    "deputy_section",
    "section",
    "deputy_division",
    "division",
    "deputy_department",
    "department",
)
RANK_CHINESE = {
    "staff": "科员/办事员",
    "deputy_section": "副科级",
    "section": "正科级",
    "deputy_division": "副处级",
    "division": "正处级",
    "deputy_department": "副厅级",
    "department": "正厅级",
}
LEVEL_CHINESE = {"city": "市级", "county": "县级", "town": "镇级", "village": "村级"}
STATUS_CHINESE = {"resident": "常住户", "vacant": "空关户", "rental": "租赁户", "away": "人户分离/流动户"}


def rank_index(rank: str) -> int:
    """Position of ``rank`` in :data:`RANKS` (``staff`` is 0)."""
    return RANKS.index(rank)


@dataclass(frozen=True)
class Column:
    name: str
    dtype: Literal["str", "int", "float", "bool"]
    required: bool
    zh: str
    doc: str
    allowed: tuple[str, ...] | None = None
    #: derived spatially (or from another column) when missing
    derivable: bool = False


@dataclass(frozen=True)
class Layer:
    name: str
    geometry: GeomType
    id_column: str | None
    required: bool
    zh: str
    doc: str
    columns: tuple[Column, ...] = field(default_factory=tuple)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required and not c.derivable]


def _c(name, dtype, required, zh, doc, allowed=None, derivable=False) -> Column:
    return Column(name, dtype, required, zh, doc, tuple(allowed) if allowed else None, derivable)


LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in [
        Layer(
            "counties", "Polygon", "county_id", False, "县/市/区",
            "Counties and districts (县/市/区), for campaigns above one county. Optional.",
            (
                _c("county_id", "str", True, "县编码", "Unique id of the county."),
                _c("name", "str", True, "县名称", "Name of the county."),
            ),
        ),
        Layer(
            "towns", "Polygon", "town_id", False, "镇/街道",
            "Towns, streets and parks (镇/街道/园区). Optional: villages may just carry a town_id.",
            (
                _c("town_id", "str", True, "镇编码", "Unique id of the town."),
                _c("name", "str", True, "镇名称", "Name of the town."),
                _c("county_id", "str", False, "所属县", "County it belongs to (campaigns above one county)."),
            ),
        ),
        Layer(
            "villages", "Polygon", "village_id", True, "村/社区",
            "Administrative villages and urban communities (行政村/社区).",
            (
                _c("village_id", "str", True, "村编码", "Unique id of the village or community."),
                _c("name", "str", True, "村名称", "Name."),
                _c("town_id", "str", True, "所属镇", "Town it belongs to; derived from the towns layer when missing.", derivable=True),
                _c("kind", "str", True, "类型", "`village` (行政村) or `community` (社区).", VILLAGE_KINDS),
                _c("weak", "bool", False, "经济薄弱村", "Economically weak village: must be visited by a senior cadre."),
                _c("resettlement", "bool", False, "征收安置社区", "Community with land-expropriation / resettlement tasks."),
            ),
        ),
        Layer(
            "grids", "Polygon", "grid_id", True, "网格",
            "Grids (网格), the smallest territorial unit; each lies in one village.",
            (
                _c("grid_id", "str", True, "网格编码", "Unique id of the grid."),
                _c("village_id", "str", True, "所属村", "Village it lies in; derived spatially when missing.", derivable=True),
            ),
        ),
        Layer(
            "households", "Point", "household_id", True, "农户/住户",
            "Households (户), one point each (the dwelling). Names and phones are personal data.",
            (
                _c("household_id", "str", True, "户编码", "Unique id of the household."),
                _c("address", "str", False, "地址", "Address."),
                _c("head_name", "str", False, "户主姓名", "Name of the head of household (personal data)."),
                _c("phone", "str", False, "联系电话", "Phone number (personal data)."),
                _c("members", "int", False, "家庭人口", "Number of members."),
                _c("poor", "bool", False, "建档立卡户", "Registered poor household."),
                _c("status", "str", False, "住户状态", "`resident` (常住), `vacant` (空关户), `rental` (租赁户) or `away` (人户分离/流动户).", HOUSEHOLD_STATUSES),
                _c("grid_id", "str", True, "所属网格", "Grid; derived spatially when missing.", derivable=True),
                _c("village_id", "str", True, "所属村", "Village; derived from the grid when missing.", derivable=True),
            ),
        ),
        Layer(
            "enterprises", "Point", "enterprise_id", False, "企业",
            "Enterprises (企业), one point each.",
            (
                _c("enterprise_id", "str", True, "企业编码", "Unique id of the enterprise."),
                _c("name", "str", True, "企业名称", "Name."),
                _c("listed", "bool", False, "列统企业", "In the statistical register (above designated size)."),
                _c("grid_id", "str", True, "所属网格", "Grid; derived spatially when missing.", derivable=True),
                _c("village_id", "str", True, "所属村", "Village; derived from the grid when missing.", derivable=True),
            ),
        ),
        Layer(
            "teams", None, "team_id", True, "工作组",
            "Work teams (工作团/工作组). A table, no geometry.",
            (
                _c("team_id", "str", True, "工作组编码", "Unique id of the team."),
                _c("name", "str", True, "工作组名称", "Name."),
                _c("level", "str", True, "层级", "`city` (市级部门), `county` (县级部门) or `town` (镇村干部).", TEAM_LEVELS),
                _c("unit", "str", False, "派出单位", "Department or unit that sends the team."),
                _c("base_lon", "float", False, "驻点经度", "Longitude of the team's base (WGS-84)."),
                _c("base_lat", "float", False, "驻点纬度", "Latitude of the team's base (WGS-84)."),
            ),
        ),
        Layer(
            "cadres", None, "cadre_id", True, "走访干部",
            "Cadres (干部) who visit. A table, no geometry.",
            (
                _c("cadre_id", "str", True, "干部编码", "Unique id of the cadre."),
                _c("team_id", "str", True, "所属工作组", "Team of the cadre."),
                _c("name", "str", True, "姓名", "Name."),
                _c("level", "str", True, "层级", "Government level: `city`, `county`, `town` or `village`.", CADRE_LEVELS),
                _c("rank", "str", True, "职级", "Rank, lowest first: " + " < ".join(f"`{r}` ({RANK_CHINESE[r]})" for r in RANKS) + ".", RANKS),
            ),
        ),
        Layer(
            "roads", "LineString", None, False, "道路",
            "Road network (OSM style). Used for travel times; straight lines × detour when absent.",
            (
                _c("highway", "str", True, "道路等级", "OSM `highway` class, e.g. `primary`, `residential`, `footway`."),
                _c("name", "str", False, "道路名称", "Name."),
            ),
        ),
    ]
}

#: The layers that hold point features which must fall inside a grid.
POINT_LAYERS = ("households", "enterprises")
POLYGON_LAYERS = ("counties", "towns", "villages", "grids")
TABLE_LAYERS = ("teams", "cadres")

BOOL_TRUE = {"1", "true", "t", "yes", "y", "是", "√", "✓", "x"}
BOOL_FALSE = {"0", "false", "f", "no", "n", "否", "", "none", "nan"}
