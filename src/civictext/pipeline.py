"""The :class:`Analyzer`: load a model directory once, analyse texts into analysis records."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .artifacts import LoadedModel, default_model_dir, load_model
from .errors import InputError
from .record import AnalysisRecord, Entity, LabelScore, RejectedRecord
from .taxonomy import Taxonomy, load_taxonomy

#: Texts longer than this many characters are rejected (a 1 MB UTF-8 Chinese text is ~350,000).
MAX_CHARS = 1_000_000


@dataclass(frozen=True)
class TextInput:
    """One text to analyse, with the caller's id and provenance."""

    text: Any
    id: str | None = None
    line: int | None = None
    meta: dict[str, Any] | None = None


_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text(text: Any, *, max_chars: int = MAX_CHARS) -> str:
    """Return ``text`` if it can be analysed, else raise :class:`InputError` saying why."""
    if not isinstance(text, str):
        raise InputError(f"text must be a string, got {type(text).__name__}")
    if not text.strip():
        raise InputError("empty text (nothing but whitespace)")
    if len(text) > max_chars:
        raise InputError(f"text has {len(text):,} characters; the limit is {max_chars:,}")
    at = unpaired_surrogate(text)
    if at is not None:  # a JSON "\\ud800" escape with no pair: not a character, and not storable as UTF-8
        raise InputError(f"text has an unpaired UTF-16 surrogate (U+{ord(text[at]):04X}) at character {at}")
    return text


def unpaired_surrogate(text: str) -> int | None:
    """Index of the first lone UTF-16 surrogate in ``text`` (which no UTF-8 encoder accepts), or None."""
    bad = _SURROGATE.search(text)
    return None if bad is None else bad.start()


class Analyzer:
    """Classify texts with a loaded model into :class:`~civictext.record.AnalysisRecord`.

    Examples
    --------
    >>> analyzer = Analyzer.load()  # doctest: +SKIP
    >>> analyzer.analyze("小区三号楼停水两天了,物业也不管").category  # doctest: +SKIP
    'water_supply'
    """

    def __init__(
        self,
        model: LoadedModel,
        *,
        taxonomy: Taxonomy | None = None,
        max_chars: int = MAX_CHARS,
        entities: bool = True,
        routes: Any = None,
    ):
        """``routes``: a :class:`~civictext.routing.RoutingTable`; when given, every record
        carries its routing decision (``route``) — entities are then always extracted."""
        self.model = model
        self.routes = routes
        if routes is not None:
            entities = True
        self.taxonomy = taxonomy or load_taxonomy()
        self.max_chars = max_chars
        self.entities = entities
        self._extractor: Any = None
        self._extractor_lock = threading.Lock()
        self._model_info = {"name": model.name, "version": model.version}

    @property
    def extractor(self) -> Any:
        """The entity extractor of the model directory (its trained ``entities/`` pipeline, or
        gazetteer and pattern rules alone when it has none), loaded once, on first use — also
        when threads (the service's request handlers) ask for it at the same time."""
        if self._extractor is None:
            with self._extractor_lock:
                if self._extractor is None:
                    from .entities import load_extractor

                    self._extractor = load_extractor(self.model.path)
        return self._extractor

    @classmethod
    def load(
        cls,
        model_dir: str | os.PathLike[str] | None = None,
        *,
        backend: str | None = None,
        exact: bool = False,
        **kwargs: Any,
    ) -> Analyzer:
        """Load ``model_dir`` (default: the shipped model).

        By default the model's compiled, scikit-learn-free predictor is used (same
        probabilities, far cheaper start-up); ``exact=True`` runs the full Pipeline.
        ``backend`` segments with another backend than the model's.
        """
        path = model_dir if model_dir is not None else default_model_dir()
        return cls(load_model(path, backend=backend, compiled=not exact), **kwargs)

    def extract(self, text: str) -> list[Entity]:
        """Entities of one text (offsets into ``text``)."""
        check_text(text, max_chars=self.max_chars)
        return list(self.extractor.extract(text))

    @property
    def labels(self) -> list[str]:
        return list(self.model.classifier.labels_)

    def _record(self, item: TextInput, proba: np.ndarray, entities: tuple[Entity, ...] = ()) -> AnalysisRecord:
        clf = self.model.classifier
        order = np.argsort(-proba, kind="stable")
        labels = tuple(
            LabelScore(clf.labels_[i], self.taxonomy.display_name(clf.labels_[i]), float(proba[i])) for i in order
        )
        best = labels[0]
        meta = dict(item.meta or {})
        decision = None
        if self.routes is not None:
            from .routing import route

            decision = route(item.text, best.label, best.score, entities, self.routes)
        return AnalysisRecord(
            id=item.id,
            category=best.label,
            category_name=best.name,
            confidence=best.score,
            labels=labels,
            predicted_labels=tuple(clf.predict_labels(proba)),
            entities=entities,
            route=decision,
            model=self._model_info,
            meta=meta,
        )

    def analyze(self, text: str, *, id: str | None = None, meta: dict[str, Any] | None = None) -> AnalysisRecord:
        """Analyse one text. Raises :class:`InputError` for text that cannot be analysed."""
        check_text(text, max_chars=self.max_chars)
        proba = self.model.classifier.predict_proba([text])[0]
        ents = tuple(self.extractor.extract(text)) if self.entities else ()
        return self._record(TextInput(text, id, None, meta), proba, ents)

    def analyze_many(
        self, items: Iterable[TextInput | RejectedRecord], *, batch_size: int = 256
    ) -> Iterator[AnalysisRecord | RejectedRecord]:
        """Analyse a stream; yields exactly one result per input, in input order.

        An input that cannot be analysed yields a :class:`RejectedRecord` in its place;
        its neighbours are unaffected. Inputs that are already :class:`RejectedRecord`
        (rejected by a reader) pass through in their place.
        """
        batch: list[TextInput] = []
        slots: list[AnalysisRecord | RejectedRecord | TextInput] = []

        def flush() -> Iterator[AnalysisRecord | RejectedRecord]:
            done: Iterator[AnalysisRecord]
            if batch:
                texts = [b.text for b in batch]
                proba = self.model.classifier.predict_proba(texts)
                ents = self.extractor.extract_many(texts) if self.entities else [[] for _ in texts]
                done = iter(self._record(b, p, tuple(e)) for b, p, e in zip(batch, proba, ents, strict=True))
            else:
                done = iter([])
            for slot in slots:
                yield next(done) if isinstance(slot, TextInput) else slot
            batch.clear()
            slots.clear()

        for item in items:
            if isinstance(item, RejectedRecord):
                slots.append(item)
                continue
            try:
                check_text(item.text, max_chars=self.max_chars)
            except InputError as exc:
                where = "".join(
                    [
                        f"line {item.line}" if item.line is not None else "",
                        f" (id {item.id})" if item.id else "",
                    ]
                )
                where = f"{where.strip()}: " if where else ""
                slots.append(RejectedRecord(item.id, item.line, "E_INPUT", f"{where}{exc}"))
            else:
                batch.append(item)
                slots.append(item)
            if len(slots) >= batch_size:
                yield from flush()
        yield from flush()
