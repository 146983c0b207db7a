from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from civictext.cli import app
from civictext.errors import ConfigError
from civictext.record import Entity
from civictext.routing import load_routing_table, parse_routing_table, route

TABLE = """
[defaults]
office = "hotline_office"
review_threshold = 0.6

[thresholds]
mediation = 0.4

[urgent]
categories = ["health_alert"]
danger_phrases = ["被困"]

[[rule]]
id = "water"
category = "water_supply"
office = "water_company"

[[rule]]
id = "water-lusong"
category = "water_supply"
district = "芦淞区"
office = "water_bureau"

[[rule]]
id = "water-lusong-property"
category = "water_supply"
district = "430203"
org_office = "property_company"
office = "housing_bureau"
"""

LUSONG = Entity(
    "DISTRICT",
    "芦淞区",
    0,
    3,
    "rule:gazetteer",
    {"name": "芦淞区", "code": "430203", "chain": ["湖南省", "株洲市", "芦淞区"]},
)
PROPERTY = Entity("ORG", "金盛物业公司", 5, 11, "model", {"office": "property_company", "office_name": "物业服务企业"})


@pytest.fixture(scope="module")
def table():
    return parse_routing_table(TABLE, "test.toml")


def test_category_only(table) -> None:
    r = route("停水了", "water_supply", 0.9, [], table)
    assert r["office"]["id"] == "water_company" and r["rule"] == "water"
    assert r["priority"] == "normal" and r["needs_review"] is False


def test_most_specific_rule_wins(table) -> None:
    assert route("x", "water_supply", 0.9, [LUSONG], table)["rule"] == "water-lusong"
    r = route("x", "water_supply", 0.9, [LUSONG, PROPERTY], table)
    assert r["rule"] == "water-lusong-property" and r["office"]["id"] == "housing_bureau"
    assert "芦淞区" in r["reason"] and "金盛物业公司" in r["reason"]


def test_review_thresholds_per_category(table) -> None:
    assert route("x", "water_supply", 0.59, [], table)["needs_review"] is True
    r = route("x", "mediation", 0.45, [], table)
    assert r["office"]["id"] == "hotline_office" and r["needs_review"] is True  # no rule for mediation here
    assert any("no routing rule" in x for x in r["review_reasons"])
    assert not any("below" in x for x in r["review_reasons"])  # 0.45 >= mediation threshold 0.4


def test_unknown_category_falls_through(table) -> None:
    r = route("x", "space_debris", 0.99, [], table)
    assert r["office"]["id"] == "hotline_office" and r["rule"] is None and r["needs_review"] is True


def test_urgency_by_category_or_danger(table) -> None:
    assert route("x", "health_alert", 0.9, [], table)["priority"] == "urgent"
    r = route("电梯里有人被困", "water_supply", 0.9, [], table)
    assert r["priority"] == "urgent" and "被困" in r["reason"]


def test_every_bad_line_is_reported_with_its_number() -> None:
    bad = (
        TABLE.replace('office = "water_bureau"', 'office = "ministry_of_magic"').replace(
            "review_threshold = 0.6", "review_threshold = 3"
        )
        + '\n[[rule]]\ncategory = "transport"\noffice = "transport_bureau"\ncolour = "red"\n'
    )
    with pytest.raises(ConfigError) as info:
        parse_routing_table(bad, "bad.toml")
    msg = str(info.value)
    lines = bad.splitlines()
    assert f"bad.toml:{lines.index('review_threshold = 3') + 1}: review_threshold" in msg
    magic = lines.index('office = "ministry_of_magic"') + 1
    colour = lines.index('colour = "red"') + 1
    assert f"bad.toml:{magic}: office 'ministry_of_magic'" in msg
    assert f"bad.toml:{colour}: unknown key 'colour'" in msg
    assert "3 problem(s)" in msg


def test_toml_syntax_error() -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_routing_table("[defaults\noffice=", "x.toml")


def test_default_table_routes_every_category_of_the_taxonomy() -> None:
    from civictext.taxonomy import load_taxonomy

    table = load_routing_table()
    covered = {r.category for r in table.rules}
    assert set(load_taxonomy().ids) - covered == {"other"}


def test_route_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["route", "小区三号楼停水两天了,物业也不管,希望水务集团尽快处理", "--json"])
    assert res.exit_code == 0, res.stderr
    rec = json.loads(res.stdout)
    assert rec["route"]["office"]["id"] == "water_company" and rec["route"]["rule"] == "water"
    custom = tmp_path / "routes.toml"
    custom.write_text(TABLE, encoding="utf-8")
    res = runner.invoke(
        app,
        ["route", "-", "--jsonl", "--routes", str(custom)],
        input='{"id": "1", "text": "株洲市芦淞区停水三天了"}\n{"id": "2", "text": ""}\n',
    )
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    assert res.exit_code == 0 and lines[0]["route"]["rule"] == "water-lusong" and "error" in lines[1]
    broken = tmp_path / "broken.toml"
    broken.write_text('[defaults]\noffice = "nobody"\n', encoding="utf-8")
    res = runner.invoke(app, ["route", "停水", "--routes", str(broken)])
    assert res.exit_code == 2 and "broken.toml:2" in res.stderr


def test_deadlines_are_validated_and_computed() -> None:
    import datetime as dt

    from civictext.routing import deadline

    bad = TABLE + "\n[deadlines]\nurgent_hours = -1\nnormal_working_days = 2.5\n"
    with pytest.raises(ConfigError) as info:
        parse_routing_table(bad, "d.toml")
    lines = bad.splitlines()
    assert f"d.toml:{lines.index('urgent_hours = -1') + 1}: urgent_hours" in str(info.value)
    assert f"d.toml:{lines.index('normal_working_days = 2.5') + 1}: normal_working_days" in str(info.value)
    table = parse_routing_table(TABLE + "\n[deadlines]\nurgent_hours = 4\nnormal_working_days = 1\n", "ok.toml")
    friday = dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC)
    assert deadline(friday, "urgent", table) == friday + dt.timedelta(hours=4)
    assert deadline(friday, "normal", table) == friday + dt.timedelta(days=3)  # Monday: the weekend is skipped


def test_an_office_can_have_its_own_deadlines() -> None:
    import datetime as dt

    from civictext.routing import deadline

    text = TABLE + (
        "\n[deadlines]\nurgent_hours = 4\nnormal_working_days = 5\n"
        "\n[deadlines.office.water_company]\nurgent_hours = 1\nnormal_working_days = 2\n"
        "\n[deadlines.office.justice_bureau]\nnormal_working_days = 10\n"
    )
    table = parse_routing_table(text, "ok.toml")
    friday = dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC)
    assert deadline(friday, "urgent", table, "water_company") == friday + dt.timedelta(hours=1)
    assert deadline(friday, "normal", table, "water_company") == friday + dt.timedelta(days=4)  # Mon, Tue
    assert deadline(friday, "urgent", table, "justice_bureau") == friday + dt.timedelta(hours=4), "inherits hours"
    assert deadline(friday, "normal", table, "justice_bureau") == friday + dt.timedelta(days=14)
    assert deadline(friday, "normal", table, "hotline_office") == friday + dt.timedelta(days=7)
    bad = TABLE + (
        "\n[deadlines]\nurgent_hours = 4\nsoon = 1\n"
        "\n[deadlines.office.nobody]\nurgent_hours = 1\n"
        "\n[deadlines.office.water_company]\nurgent_hours = 0\n"
    )
    with pytest.raises(ConfigError) as info:
        parse_routing_table(bad, "d.toml")
    lines = bad.splitlines()
    msg = str(info.value)
    assert f"d.toml:{lines.index('soon = 1') + 1}: unknown key 'soon'" in msg
    assert f"d.toml:{lines.index('[deadlines.office.nobody]') + 1}: [deadlines.office.nobody]" in msg
    assert f"d.toml:{lines.index('urgent_hours = 0') + 1}: [deadlines.office.water_company] urgent_hours" in msg


def test_deadlines_follow_the_state_council_calendar() -> None:
    import datetime as dt

    from civictext.routing import deadline, is_working_day

    # 2026: National Day holiday 1-7 October, Saturday 10 October a make-up working day
    assert not is_working_day(dt.date(2026, 10, 1), "cn") and is_working_day(dt.date(2026, 10, 1), "weekends") is True
    assert is_working_day(dt.date(2026, 10, 10), "cn") and not is_working_day(dt.date(2026, 10, 10), "weekends")
    cn = parse_routing_table(TABLE + '\n[deadlines]\nnormal_working_days = 5\ncalendar = "cn"\n', "cn.toml")
    eve = dt.datetime(2026, 9, 30, 2, tzinfo=dt.UTC)  # Wednesday 10:00 in China
    assert deadline(eve, "normal", cn) == dt.datetime(2026, 10, 13, 2, tzinfo=dt.UTC)  # 8, 9, 10 (Sat), 12, 13
    # days are China dates: Monday 12 October 01:00 in China is still Sunday in UTC; counting UTC
    # dates would end on Saturday 17 October in China
    late = dt.datetime(2026, 10, 11, 17, tzinfo=dt.UTC)
    assert deadline(late, "normal", cn) == dt.datetime(2026, 10, 18, 17, tzinfo=dt.UTC)  # Monday 19th, 01:00 CST
    assert load_routing_table().calendar == "cn", "the shipped table uses the holiday calendar"
    with pytest.raises(ConfigError, match="calendar must be one of"):
        parse_routing_table(TABLE + '\n[deadlines]\ncalendar = "lunar"\n', "x.toml")
