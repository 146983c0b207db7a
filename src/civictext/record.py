"""The analysis record: what every civictext feature returns and writes.

One module defines it so the CLI, batch tagging, routing and the service all speak the
same shape. ``AnalysisRecord.to_dict()`` is the JSON form documented in the README::

    {
      "id": "c-1" | null,                 # the caller's id, echoed
      "category": "water_supply",         # primary category id
      "category_name": "供水",             # display name from the taxonomy
      "confidence": 0.91,                 # calibrated probability of `category`
      "labels": [{"label": "water_supply", "name": "供水", "score": 0.91}, ...],  # all labels, best first
      "predicted_labels": ["water_supply"],   # multi-label models: every label above threshold
      "entities": [{"type": "DISTRICT", "text": "...", "start": 0, "end": 3, ...}],
      "route": null | {...},              # filled by routing
      "model": {"name": "default", "version": "..."},
      "meta": {...}                       # provenance (source file, line...) carried through
    }
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LabelScore:
    """One candidate label with its calibrated probability."""

    label: str
    name: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "name": self.name, "score": round(self.score, 4)}


@dataclass(frozen=True)
class Entity:
    """An entity mention; ``text == original[start:end]`` always holds for the caller's string."""

    type: str
    text: str
    start: int
    end: int
    source: str = ""
    normalized: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": self.type, "text": self.text, "start": self.start, "end": self.end}
        if self.source:
            d["source"] = self.source
        if self.normalized is not None:
            d["normalized"] = self.normalized
        return d


@dataclass(frozen=True)
class AnalysisRecord:
    """Result of analysing one text.

    Attributes
    ----------
    id : str or None
        The caller's record id, echoed unchanged.
    category : str
        Primary category id (the best label).
    category_name : str
        Display name of ``category``.
    confidence : float
        Calibrated probability of ``category``.
    labels : tuple of LabelScore
        Every label the model knows, sorted by score, best first.
    predicted_labels : tuple of str
        Labels predicted for a multi-label model (score at or above its threshold); the
        primary category alone for a single-label model.
    entities : tuple of Entity
        Entity mentions sorted by offset (empty until entity extraction runs).
    route : dict or None
        Routing decision (office, rule, reason, priority, needs_review), when routing ran.
    model : dict
        Name and version of the model that decided.
    meta : dict
        Provenance carried through from the input (source, line, extra fields).
    """

    id: str | None
    category: str
    category_name: str
    confidence: float
    labels: tuple[LabelScore, ...]
    predicted_labels: tuple[str, ...]
    entities: tuple[Entity, ...] = ()
    route: dict[str, Any] | None = None
    model: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "category": self.category,
            "category_name": self.category_name,
            "confidence": round(self.confidence, 4),
            "labels": [ls.to_dict() for ls in self.labels],
            "predicted_labels": list(self.predicted_labels),
            "entities": [e.to_dict() for e in self.entities],
            "route": self.route,
            "model": self.model,
        }
        if self.meta:
            d["meta"] = self.meta
        return d


@dataclass(frozen=True)
class RejectedRecord:
    """An input record that could not be analysed, kept in its place in the output.

    ``to_dict`` gives ``{"id": ..., "line": ..., "error": {"code": ..., "message": ...}}``.
    """

    id: str | None
    line: int | None
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "line": self.line, "error": {"code": self.code, "message": self.message}}
