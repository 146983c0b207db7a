"""Length-preserving text normalization.

Every step is a pure ``str -> str`` function that maps each character to exactly one
character, so a character offset in the normalized text is the same offset in the
caller's original string. ``make_normalizer`` composes steps.

Examples
--------
>>> normalize("３号楼ＡＢ栋\u3000停水！")
'3号楼ab栋 停水!'
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable, Sequence

Step = Callable[[str], str]

# Full-width ASCII variants U+FF01..U+FF5E map to U+0021..U+007E; the ideographic space to a space.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20


def fullwidth_to_halfwidth(text: str) -> str:
    """Map full-width Latin letters, digits and punctuation (and U+3000) to their ASCII forms."""
    return text.translate(_FULLWIDTH)


@functools.lru_cache(maxsize=4096)
def _control_to_space_char(ch: str) -> str:
    cat = unicodedata.category(ch)
    if cat in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") and ch not in "\n\t":
        return " "
    return ch


def controls_to_space(text: str) -> str:
    """Replace control, format, private-use and unassigned characters by a space (newlines and tabs kept)."""
    if text.isprintable():
        return text
    return "".join(_control_to_space_char(ch) for ch in text)


def lowercase_latin(text: str) -> str:
    """Lower-case characters whose lower case is a single character (so lengths never change)."""
    low = text.lower()
    if len(low) == len(text):  # lower() only ever expands (İ -> i̇), so equal length means 1:1
        return low
    return "".join(low if len(low := ch.lower()) == 1 else ch for ch in text)


DEFAULT_STEPS: tuple[Step, ...] = (fullwidth_to_halfwidth, controls_to_space, lowercase_latin)


def make_normalizer(steps: Sequence[Step] = DEFAULT_STEPS) -> Step:
    """Compose length-preserving steps into one function."""

    def normalizer(text: str) -> str:
        for step in steps:
            text = step(text)
        return text

    return normalizer


def normalize(text: str) -> str:
    """Apply the default steps. Module-level (not a lambda) so pipelines that use it pickle."""
    for step in DEFAULT_STEPS:
        text = step(text)
    return text
