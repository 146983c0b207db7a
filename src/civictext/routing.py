"""Routing: which office handles a case, why, how urgently, and whether a person must review it.

A routing table (TOML, ``data/routes.toml`` by default) maps a category — optionally
narrowed by a district or an organisation named in the text — to an office of
``data/offices.toml``. :func:`route` is pure and deterministic: no model, only the
analysis record and the table. Every decision names the rule that made it and a reason a
dispatcher can read.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .gazetteer import OfficeTable, load_offices
from .record import Entity

_TOP_KEYS = {"defaults", "thresholds", "urgent", "rule", "deadlines"}
_RULE_KEYS = {"id", "category", "office", "district", "org_office"}


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    office: str
    district: str | None = None
    org_office: str | None = None
    line: int = 0

    @property
    def specificity(self) -> int:
        return 2 * (self.district is not None) + (self.org_office is not None)


@dataclass(frozen=True)
class RoutingTable:
    rules: tuple[Rule, ...]
    default_office: str
    review_threshold: float
    thresholds: dict[str, float]
    urgent_categories: frozenset[str]
    danger_phrases: tuple[str, ...]
    offices: OfficeTable = field(repr=False, compare=False, default_factory=load_offices)
    source: str = ""
    urgent_hours: float = 2.0
    normal_working_days: int = 5
    #: office id → (urgent hours, normal working days), overriding the two above for that office
    office_deadlines: dict[str, tuple[float, int]] = field(default_factory=dict)
    #: which days are working days: "weekends" (Monday-Friday) or "cn" (the State Council's
    #: public holidays and make-up working days, from the chinesecalendar package)
    calendar: str = "weekends"

    def threshold(self, category: str) -> float:
        return self.thresholds.get(category, self.review_threshold)


def _line_of_rule(lines: list[str], index: int) -> int:
    seen = -1
    for n, line in enumerate(lines, 1):
        if re.match(r"\s*\[\[\s*rule\s*\]\]", line):
            seen += 1
            if seen == index:
                return n
    return 0


def _line_of_key(lines: list[str], start: int, key: str) -> int:
    for n in range(start, len(lines) + 1):
        if n > start and lines[n - 1].lstrip().startswith("["):
            break
        if re.match(rf"\s*{re.escape(key)}\s*=", lines[n - 1]):
            return n
    return start


def _line_of_table(lines: list[str], name: str) -> int:
    for n, line in enumerate(lines, 1):
        if re.match(rf"\s*\[\s*{re.escape(name)}\s*\]", line):
            return n
    return 0


def parse_routing_table(text: str, source: str, *, offices: OfficeTable | None = None) -> RoutingTable:
    """Parse and validate a routing table; every problem is reported with its line number.

    Raises
    ------
    ConfigError
        Listing every invalid line (``source:line: problem``).
    """
    offices = offices or load_offices()
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    lines = text.splitlines()
    problems: list[str] = []

    def bad(line: int, msg: str) -> None:
        problems.append(f"{source}:{line}: {msg}")

    for key in raw:
        if key not in _TOP_KEYS:
            bad(
                _line_of_table(lines, key) or _line_of_key(lines, 1, key),
                f"unknown section {key!r}; allowed: {sorted(_TOP_KEYS)}",
            )
    defaults = raw.get("defaults", {})
    dline = _line_of_table(lines, "defaults")
    default_office = defaults.get("office")
    if default_office not in offices.offices:
        bad(
            _line_of_key(lines, dline, "office") if dline else 0,
            f"[defaults] office {default_office!r} is not an office id of offices.toml",
        )
    review = defaults.get("review_threshold", 0.5)
    if not isinstance(review, int | float) or not 0 <= review <= 1:
        bad(
            _line_of_key(lines, dline, "review_threshold"),
            f"review_threshold must be a number in [0, 1], got {review!r}",
        )
        review = 0.5
    thresholds: dict[str, float] = {}
    tline = _line_of_table(lines, "thresholds")
    for cat, value in raw.get("thresholds", {}).items():
        if not isinstance(value, int | float) or not 0 <= value <= 1:
            bad(_line_of_key(lines, tline, cat), f"threshold of {cat!r} must be a number in [0, 1], got {value!r}")
        else:
            thresholds[cat] = float(value)
    urgent = raw.get("urgent", {})
    uline = _line_of_table(lines, "urgent")
    cats = urgent.get("categories", [])
    phrases = urgent.get("danger_phrases", [])
    if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats):
        bad(_line_of_key(lines, uline, "categories"), "urgent.categories must be a list of category ids")
        cats = []
    if not isinstance(phrases, list) or not all(isinstance(p, str) and p for p in phrases):
        bad(_line_of_key(lines, uline, "danger_phrases"), "urgent.danger_phrases must be a list of non-empty strings")
        phrases = []
    deadlines = raw.get("deadlines", {})
    dl_line = _line_of_table(lines, "deadlines")
    for key in deadlines:
        if key not in ("urgent_hours", "normal_working_days", "office", "calendar"):
            bad(_line_of_key(lines, dl_line, key), f"unknown key {key!r} in [deadlines]")
    calendar = deadlines.get("calendar", "weekends")
    if calendar not in CALENDARS:
        bad(_line_of_key(lines, dl_line, "calendar"), f"calendar must be one of {list(CALENDARS)}, got {calendar!r}")
        calendar = "weekends"

    def read_deadlines(d: dict[str, Any], line: int, where: str, fallback: tuple[float, int]) -> tuple[float, int]:
        hours, days = d.get("urgent_hours", fallback[0]), d.get("normal_working_days", fallback[1])
        if not isinstance(hours, int | float) or isinstance(hours, bool) or hours <= 0:
            bad(
                _line_of_key(lines, line, "urgent_hours"),
                f"{where}urgent_hours must be a positive number, got {hours!r}",
            )
            hours = fallback[0]
        if not isinstance(days, int) or isinstance(days, bool) or days <= 0:
            bad(
                _line_of_key(lines, line, "normal_working_days"),
                f"{where}normal_working_days must be a positive integer, got {days!r}",
            )
            days = fallback[1]
        return float(hours), int(days)

    urgent_hours, working_days = read_deadlines(deadlines, dl_line, "", (2.0, 5))
    office_deadlines: dict[str, tuple[float, int]] = {}
    per_office = deadlines.get("office", {})
    for office_id, d in per_office.items() if isinstance(per_office, dict) else ():
        oline = _line_of_table(lines, f"deadlines.office.{office_id}") or _line_of_key(lines, dl_line, office_id)
        if office_id not in offices.offices:
            bad(oline, f"[deadlines.office.{office_id}]: {office_id!r} is not an office id of offices.toml")
        elif not isinstance(d, dict) or set(d) - {"urgent_hours", "normal_working_days"}:
            bad(oline, f"[deadlines.office.{office_id}] may set only urgent_hours and normal_working_days")
        else:
            where = f"[deadlines.office.{office_id}] "
            office_deadlines[office_id] = read_deadlines(d, oline, where, (urgent_hours, working_days))
    rules: list[Rule] = []
    ids: set[str] = set()
    raw_rules = raw.get("rule", [])
    if not isinstance(raw_rules, list):
        bad(0, "'rule' must be an array of tables ([[rule]])")
        raw_rules = []
    for i, r in enumerate(raw_rules):
        start = _line_of_rule(lines, i)
        for key in r:
            if key not in _RULE_KEYS:
                bad(_line_of_key(lines, start, key), f"unknown key {key!r} in [[rule]]; allowed: {sorted(_RULE_KEYS)}")
        category, office = r.get("category"), r.get("office")
        if not isinstance(category, str) or not category:
            bad(_line_of_key(lines, start, "category"), "[[rule]] needs a 'category' (a category id)")
            continue
        if office not in offices.offices:
            bad(_line_of_key(lines, start, "office"), f"office {office!r} is not an office id of offices.toml")
            continue
        org = r.get("org_office")
        if org is not None and org not in offices.offices:
            bad(_line_of_key(lines, start, "org_office"), f"org_office {org!r} is not an office id of offices.toml")
            continue
        district = r.get("district")
        if district is not None and (not isinstance(district, str) or not district):
            bad(_line_of_key(lines, start, "district"), "district must be a non-empty string (a place name or code)")
            continue
        rid = str(r.get("id") or f"rule-{i + 1}")
        if rid in ids:
            bad(_line_of_key(lines, start, "id"), f"duplicate rule id {rid!r}")
            continue
        ids.add(rid)
        rules.append(Rule(rid, category, office, district, org, start))
    if problems:
        raise ConfigError(f"invalid routing table ({len(problems)} problem(s)):\n" + "\n".join(problems))
    return RoutingTable(
        tuple(rules), str(default_office), float(review), thresholds, frozenset(cats), tuple(phrases), offices, source,
        urgent_hours, working_days, office_deadlines, str(calendar),
    )  # fmt: skip


@functools.lru_cache(maxsize=8)
def load_routing_table(path: str | None = None) -> RoutingTable:
    """The packaged default table, or the TOML file at ``path`` (validated)."""
    if path is None:
        text = resources.files("civictext").joinpath("data").joinpath("routes.toml").read_text(encoding="utf-8")
        return parse_routing_table(text, "civictext/data/routes.toml")
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read routing table {p}: {exc}") from None
    return parse_routing_table(text, str(p))


#: Working days are counted on China Standard Time dates.
CHINA_TIME = dt.timezone(dt.timedelta(hours=8), "CST")
CALENDARS = ("weekends", "cn")


def is_working_day(day: dt.date, calendar: str = "weekends") -> bool:
    """Monday to Friday, or with ``calendar="cn"`` the State Council's schedule: public holidays
    off, make-up working days (调休) on. For a year chinesecalendar has no schedule for yet
    (it is published each November), weekends only."""
    if calendar == "cn":
        import chinese_calendar

        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            pass
    return day.weekday() < 5


def deadline(created: dt.datetime, priority: str, table: RoutingTable, office: str | None = None) -> dt.datetime:
    """When a case is due: ``urgent_hours`` after it arrives if urgent, else the same time of day
    ``normal_working_days`` working days later (days judged on China Standard Time dates by the
    table's ``calendar``) — the office's own ``[deadlines.office.ID]`` values when the table sets them."""
    hours, days = table.office_deadlines.get(office or "", (table.urgent_hours, table.normal_working_days))
    if priority == "urgent":
        return created + dt.timedelta(hours=hours)
    due, left = created, days
    while left:
        due += dt.timedelta(days=1)
        if is_working_day(due.astimezone(CHINA_TIME).date(), table.calendar):
            left -= 1
    return due


def _district_matches(rule_district: str, entities: Sequence[Entity]) -> Entity | None:
    for e in entities:
        if e.type != "DISTRICT":
            continue
        norm = e.normalized or {}
        if rule_district in (e.text, norm.get("name"), norm.get("code")) or rule_district in (norm.get("chain") or []):
            return e
    return None


def _org_matches(office_id: str, entities: Sequence[Entity]) -> Entity | None:
    for e in entities:
        if e.type == "ORG" and (e.normalized or {}).get("office") == office_id:
            return e
    return None


def route(
    text: str, category: str, confidence: float, entities: Sequence[Entity], table: RoutingTable
) -> dict[str, Any]:
    """Decide office, rule, reason, priority and review need for one analysed text."""
    candidates = []
    for rule in table.rules:
        if rule.category != category:
            continue
        place = _district_matches(rule.district, entities) if rule.district else None
        org = _org_matches(rule.org_office, entities) if rule.org_office else None
        if (rule.district and place is None) or (rule.org_office and org is None):
            continue
        candidates.append((rule, place, org))
    candidates.sort(key=lambda c: -c[0].specificity)  # stable: file order among equals
    review_reasons = []
    threshold = table.threshold(category)
    if confidence < threshold:
        review_reasons.append(f"confidence {confidence:.2f} is below the {category} threshold {threshold:.2f}")
    if candidates:
        rule, place, org = candidates[0]
        office_id = rule.office
        because = [f"category {category} (confidence {confidence:.2f})"]
        if place is not None:
            because.append(f"place {place.text}")
        if org is not None:
            because.append(f"organisation {org.text}")
        rule_id: str | None = rule.id
    else:
        office_id = table.default_office
        rule_id = None
        because = [f"category {category} (confidence {confidence:.2f})", "no rule matches"]
        review_reasons.append(f"no routing rule for category {category!r}")
    office = table.offices.offices[office_id]
    places = [e.text for e in entities if e.type == "DISTRICT"]
    orgs = [e.text for e in entities if e.type == "ORG"]
    danger = [p for p in table.danger_phrases if p in text]
    urgent = category in table.urgent_categories or bool(danger)
    reason = "; ".join(because) + f" → {office.name}"
    if places:
        reason += f"; places named: {'、'.join(dict.fromkeys(places))}"
    if orgs:
        reason += f"; organisations named: {'、'.join(dict.fromkeys(orgs))}"
    if danger:
        reason += f"; danger: {'、'.join(danger)}"
    return {
        "office": {"id": office.id, "name": office.name},
        "rule": rule_id,
        "reason": reason,
        "priority": "urgent" if urgent else "normal",
        "needs_review": bool(review_reasons),
        "review_reasons": review_reasons,
    }
