"""civictext: governance categories, entities and routing for Chinese complaint and news text.

Public entry points (imported lazily, so ``import civictext`` stays cheap)::

    from civictext import Analyzer, Segmenter, load_taxonomy
    analyzer = Analyzer.load()            # the shipped default model
    record = analyzer.analyze("小区三号楼停水两天了,物业也不管")
    record.category, record.confidence
"""

from __future__ import annotations

from typing import Any

from .about import __version__

__all__ = ["Analyzer", "AnalysisRecord", "Segmenter", "load_taxonomy", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Analyzer":
        from .pipeline import Analyzer

        return Analyzer
    if name == "AnalysisRecord":
        from .record import AnalysisRecord

        return AnalysisRecord
    if name == "Segmenter":
        from .segment import Segmenter

        return Segmenter
    if name == "load_taxonomy":
        from .taxonomy import load_taxonomy

        return load_taxonomy
    raise AttributeError(f"module 'civictext' has no attribute {name!r}")
