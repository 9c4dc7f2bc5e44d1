"""The rules file: defaults, a full file, an empty file, and every kind of bad value."""

from __future__ import annotations

import pytest

from planner.assign.rules import DEFAULT_RULES_PATH, RulesError, default_rules, load_rules


def write(tmp_path, text: str):
    p = tmp_path / "rules.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_have_the_four_must_visit_rules():
    rules = default_rules()
    assert [r.name for r in rules.must_visit] == [
        "weak_village", "resettlement_community", "listed_enterprise", "poor_household"]
    assert rules.must_visit[3].slots == ("level=city", "level=county", "level=town")
    assert rules.quotas.city.min_villages == 1 and rules.quotas.city.max_villages == 3
    assert rules.quotas.cadre_min_households == 30
    assert rules.units.granularity("town") == "grid"


def test_empty_file_gives_the_defaults(tmp_path):
    assert load_rules(write(tmp_path, "")) == default_rules()


def test_full_default_file_loads_to_the_same_rules():
    assert load_rules(DEFAULT_RULES_PATH) == default_rules()


def test_a_file_overrides_only_its_keys(tmp_path):
    rules = load_rules(write(tmp_path, "[balance]\ntolerance = 0.1\n[quotas.county]\nmax_villages = 4\n"))
    assert rules.balance.tolerance == 0.1
    assert rules.balance.weight == default_rules().balance.weight
    assert rules.quotas.county.max_villages == 4
    assert rules.quotas.city.max_villages == 3
    assert len(rules.must_visit) == 4


def test_a_must_visit_list_replaces_the_default_list(tmp_path):
    rules = load_rules(write(tmp_path, """
[[must_visit]]
name = "two_seniors_for_weak_villages"
entity = "village"
where = { weak = true }
min_rank = "division"
count = 2
"""))
    assert [r.name for r in rules.must_visit] == ["two_seniors_for_weak_villages"]
    assert rules.must_visit[0].slots == ("rank>=division#1", "rank>=division#2")


def test_schedule_section_is_kept_for_its_owner(tmp_path):
    rules = load_rules(write(tmp_path, "[schedule]\nstart = 2018-03-01\n"))
    assert "schedule" in rules.extra


@pytest.mark.parametrize(
    "text, match",
    [
        ("[balance]\ntolerence = 0.1\n", "unknown key 'tolerence'"),  # typo never silently ignored
        ("[balance]\ntolerance = 1.5\n", r"tolerance = 1.5: must be a number in \[0, 1\)"),
        ("[units]\ncity = 'province'\n", "must be one of grid, village, town"),
        ("[quotas.city]\nmin_villages = 4\nmax_villages = 2\n", "min_villages = 4 > max_villages = 2"),
        ("[quotas]\ncadre_min_households = -3\n", "must be a whole number"),
        ("[workload]\nresident = 'thirty'\n", "must be a number"),
        # a must-visit rule with both kinds of requirement
        ("[[must_visit]]\nname='x'\nentity='village'\nmin_rank='division'\nlevels=['city']\n", "exactly one of min_rank"),
        ("[[must_visit]]\nname='x'\nentity='village'\nmin_rank='general'\n", "min_rank = 'general' must be one of staff"),
        ("[[must_visit]]\nname='x'\nentity='shop'\nmin_rank='division'\n", "entity = 'shop' must be one of village"),
        ("[[must_visit]]\nentity='village'\nmin_rank='division'\n", "'name' is required"),
        ("[[must_visit]]\nname='x'\nentity='household'\nlevels=['city','mars']\n", "levels = .* must be distinct values"),
        ("this is not toml", "not valid TOML"),
    ],
)
def test_bad_rules_are_rejected_with_a_clear_message(tmp_path, text, match):
    with pytest.raises(RulesError, match=match):
        load_rules(write(tmp_path, text))


def test_every_problem_is_reported_at_once(tmp_path):
    with pytest.raises(RulesError) as exc:
        load_rules(write(tmp_path, "[balance]\ntolerance = 2\nweight = -1\n[units]\nbase = 'house'\n"))
    assert len(exc.value.problems) == 3


def test_missing_rules_file_is_an_error(tmp_path):
    with pytest.raises(RulesError, match="not found"):
        load_rules(tmp_path / "nope.toml")
