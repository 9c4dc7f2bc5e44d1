"""Made-up attributes for the demo: names, phones, household kinds, flags, teams and cadres.

Everything is fake but plausible and drawn from the caller's
``numpy.random.Generator`` (no module-level state), at the rates of the seeds:
~3% registered poor households (建档立卡户), 5-15% vacant (空关户) per village,
some rental (租赁户) and away (人户分离) households, ~15% weak villages
(经济薄弱村), some resettlement communities (征收安置社区), ~20% listed
enterprises (列统企业).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Common surnames, most frequent first, with rough weights (per cent of the population).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_CHARS = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂兰华建国志红玉文斌辉春梅海燕鹏飞凤云波宇浩晨欣怡佳子涵梓轩俊峰立新德林金荣小宁琴晓东亮婷雪慧永福成贵兵"
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "157", "158", "159", "177", "180", "182", "186", "187", "188", "189", "199")
BRANDS = "宏达 华盛 金泰 永兴 恒信 鑫源 瑞丰 天成 新华 东方 兴业 联创 汇通 长江 万隆 德润 嘉禾 正大 和顺 富民 晨光 远航 中泰 博创 绿源 金山 安泰 鼎盛 同心 利民".split()
SECTOR_TRADES = {
    "shop": ("商贸", "超市", "百货", "五金", "电器"),
    "amenity": ("餐饮", "酒店管理", "医药", "汽车服务", "文化传媒"),
    "tourism": ("酒店", "旅游开发", "民宿"),
    "office": ("咨询", "科技", "会计服务", "物业管理"),
    "craft": ("工艺品", "建材", "装饰工程"),
    "industrial": ("机械制造", "精密铸造", "化工", "新材料", "电子科技", "食品加工", "纺织"),
    "business": ("商贸", "物流", "建筑工程", "农业开发", "科技", "服装"),
}
MEMBERS_P = (0.14, 0.27, 0.25, 0.18, 0.10, 0.06)  # households of 1..6 members
POOR_RATE = 0.03
WEAK_SHARE = 0.15
RESETTLEMENT_SHARE = 0.3
LISTED_SHARE = 0.2

CITY_UNITS = ("市发展改革委", "市财政局", "市农业农村局")
COUNTY_UNITS = ("县委组织部", "县民政局", "县人社局", "县住建局", "县卫健委", "县教育局", "县交通运输局", "县市场监管局", "县应急管理局", "县自然资源局")
#: (level, team size range, ranks and their probabilities) per team level; see :func:`teams_and_cadres`.
CADRE_MIX = {
    "city": ((7, 10), ("staff", "deputy_section", "section", "deputy_division", "division"), (0.15, 0.25, 0.3, 0.2, 0.1)),
    "county": ((9, 13), ("staff", "deputy_section", "section", "deputy_division"), (0.3, 0.3, 0.3, 0.1)),
    "town": ((12, 17), ("staff", "deputy_section", "section"), (0.5, 0.3, 0.2)),
}


def chinese_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` plausible Chinese names (surname + one or two given characters), e.g. 张伟, 王秀英."""
    weights = 1.0 / np.sqrt(np.arange(1, len(SURNAMES) + 1))
    surname = rng.choice(list(SURNAMES), size=n, p=weights / weights.sum())
    chars = np.array(list(GIVEN_CHARS))
    first = rng.choice(chars, size=n)
    second = np.where(rng.random(n) < 0.7, rng.choice(chars, size=n), "")
    return np.char.add(np.char.add(surname, first), second).astype(object)


def phones(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` made-up 11-digit mobile numbers, e.g. 138xxxxxxxx."""
    prefix = rng.choice(list(MOBILE_PREFIXES), size=n)
    rest = rng.integers(0, 10**8, size=n)
    return np.array([f"{p}{r:08d}" for p, r in zip(prefix, rest)], dtype=object)


def village_flags(rng: np.random.Generator, kind: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(weak, resettlement)`` flags: ~15% of all villages are weak (only kind=village ones), ~30% of communities resettle."""
    is_village = (kind == "village").to_numpy()
    is_community = ~is_village
    weak = np.zeros(len(kind), dtype=bool)
    n_weak = min(max(1, round(WEAK_SHARE * len(kind))), int(is_village.sum()))
    weak[rng.choice(np.flatnonzero(is_village), size=n_weak, replace=False)] = True
    resettlement = np.zeros(len(kind), dtype=bool)
    n_res = min(max(1, round(RESETTLEMENT_SHARE * is_community.sum())), int(is_community.sum()))
    resettlement[rng.choice(np.flatnonzero(is_community), size=n_res, replace=False)] = True
    return weak, resettlement


def household_attributes(rng: np.random.Generator, village_kind: np.ndarray, village_weak: np.ndarray, village_code: np.ndarray) -> pd.DataFrame:
    """Members, poor, status, head name and phone of each household.

    ``village_kind`` / ``village_weak`` / ``village_code`` are per household
    (the household's village). Vacancy is drawn per village in 5-15%; rural
    villages have more households away (人户分离), communities more rentals.
    """
    n = len(village_kind)
    community = village_kind == "community"
    codes, inverse = np.unique(village_code, return_inverse=True)
    vacancy = rng.uniform(0.05, 0.15, size=len(codes))[inverse]
    rental = np.where(community, 0.10, 0.02)
    away = np.where(community, 0.04, 0.09)
    u = rng.random(n)
    status = np.select([u < vacancy, u < vacancy + rental, u < vacancy + rental + away], ["vacant", "rental", "away"], "resident").astype(object)
    relative = np.where(village_weak, 2.0, 1.0) * np.where(community, 0.5, 1.0)
    poor = rng.random(n) < POOR_RATE * relative / relative.mean()
    members = rng.choice(np.arange(1, 7), size=n, p=MEMBERS_P)
    return pd.DataFrame({
        "head_name": chinese_names(rng, n),
        "phone": phones(rng, n),
        "members": members.astype("int64"),
        "poor": poor,
        "status": status,
    })


def enterprise_attributes(rng: np.random.Generator, sector: np.ndarray, big: np.ndarray, prefix: np.ndarray) -> pd.DataFrame:
    """Name and ``listed`` flag of each enterprise; exactly ~20% are listed, big ones more likely."""
    n = len(sector)
    brand = rng.choice(BRANDS, size=n)
    trade = np.array([rng.choice(SECTOR_TRADES.get(s, SECTOR_TRADES["business"])) for s in sector], dtype=object)
    n_listed = round(LISTED_SHARE * n)
    weight = np.where(big, 4.0, 1.0)
    listed = np.zeros(n, dtype=bool)
    if n_listed:
        listed[rng.choice(n, size=n_listed, replace=False, p=weight / weight.sum())] = True
    suffix = np.where(listed, "股份有限公司", "有限公司")
    names = [f"{p}{b}{t}{s}" for p, b, t, s in zip(prefix, brand, trade, suffix)]
    # keep names unique
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            names[i] = name.replace("有限公司", f"第{seen[name]}分公司")
    return pd.DataFrame({"name": names, "listed": listed})


def teams_and_cadres(rng: np.random.Generator, plan: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Teams (工作组) and their cadres (干部) from a team ``plan``.

    ``plan`` has one dict per team: ``name``, ``level`` (city/county/town),
    ``unit``, ``base_lon``, ``base_lat``. Ids are ``TM01``… and ``C0001``….
    Every city team has a senior leader (deputy_department or department) and
    every county team a deputy_division+ leader, so the must-visit rules (四个必到)
    can be met; town teams also hold a few village cadres (村干部).
    """
    teams, cadres = [], []
    for t, team in enumerate(plan, start=1):
        team_id = f"TM{t:02d}"
        teams.append({"team_id": team_id, **team})
        (lo, hi), ranks, p = CADRE_MIX[team["level"]]
        size = int(rng.integers(lo, hi + 1))
        rank = list(rng.choice(ranks, size=size, p=p))
        level = [team["level"]] * size
        # the team leader
        rank[0] = {"city": str(rng.choice(["deputy_department", "department"])), "county": str(rng.choice(["deputy_division", "division"])), "town": "section"}[team["level"]]
        if team["level"] == "town":  # local village cadres walk along
            n_village = int(rng.integers(2, 5))
            level[-n_village:] = ["village"] * n_village
            rank[-n_village:] = ["staff"] * n_village
        names = chinese_names(rng, size)
        for i in range(size):
            cadres.append({"team_id": team_id, "name": names[i], "level": level[i], "rank": str(rank[i])})
    cadres_df = pd.DataFrame(cadres)
    cadres_df.insert(0, "cadre_id", [f"C{i:04d}" for i in range(1, len(cadres_df) + 1)])
    return pd.DataFrame(teams), cadres_df
