"""The governance taxonomy, read from ``data/taxonomy.toml`` (never spelled out in code)."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import ResourceError


@dataclass(frozen=True)
class Category:
    """One governance category.

    Attributes
    ----------
    id : str
        Stable machine id, e.g. ``"water_supply"``.
    name : str
        Chinese display name, e.g. ``"供水"``.
    description : str
        What belongs in the category.
    boundary : str
        What does not, and where it goes instead.
    """

    id: str
    name: str
    description: str
    boundary: str


@dataclass(frozen=True)
class Taxonomy:
    """An ordered set of categories with lookup by id."""

    version: str
    categories: tuple[Category, ...]

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.categories]

    def get(self, category_id: str) -> Category | None:
        for c in self.categories:
            if c.id == category_id:
                return c
        return None

    def display_name(self, category_id: str) -> str:
        """Chinese name of a category id, or the id itself for labels outside the taxonomy."""
        c = self.get(category_id)
        return c.name if c else category_id


def _parse(text: str, source: str) -> Taxonomy:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ResourceError(f"taxonomy file {source} is not valid TOML: {exc}") from exc
    cats = []
    seen: set[str] = set()
    for i, entry in enumerate(raw.get("category", []), 1):
        missing = [k for k in ("id", "name", "description", "boundary") if not isinstance(entry.get(k), str)]
        if missing:
            raise ResourceError(f"taxonomy file {source}: category #{i} lacks string field(s) {missing}")
        if entry["id"] in seen:
            raise ResourceError(f"taxonomy file {source}: duplicate category id {entry['id']!r}")
        seen.add(entry["id"])
        cats.append(Category(entry["id"], entry["name"], entry["description"], entry["boundary"]))
    if not cats:
        raise ResourceError(f"taxonomy file {source} defines no [[category]]")
    return Taxonomy(str(raw.get("version", "")), tuple(cats))


@functools.lru_cache(maxsize=8)
def load_taxonomy(path: str | None = None) -> Taxonomy:
    """Load a taxonomy file; without ``path`` the packaged default.

    Examples
    --------
    >>> load_taxonomy().display_name("water_supply")
    '供水'
    """
    if path is None:
        text = resources.files("civictext").joinpath("data/taxonomy.toml").read_text(encoding="utf-8")
        return _parse(text, "civictext/data/taxonomy.toml")
    p = Path(path)
    try:
        return _parse(p.read_text(encoding="utf-8"), str(p))
    except OSError as exc:
        raise ResourceError(f"cannot read taxonomy file {p}: {exc.strerror}") from exc
