"""Chinese word segmentation: the only module that imports jieba or rjieba.

Two interchangeable backends produce the same tokens wherever their definitions agree:

``jieba``
    jieba 0.42.1 through a private :class:`jieba.Tokenizer` (never the module-level
    API, which is one process-wide dictionary), its marshal cache written to a
    civictext cache directory we create.
``rjieba``
    jieba-rs through :class:`rjieba.Jieba`, about an order of magnitude faster. With
    ``hmm=False`` it reproduces jieba's tokens exactly (tested over our corpus, real
    citizen messages and random strings). With ``hmm=True`` the two HMM decoders
    disagree on a few percent of texts, so ``backend="auto"`` picks rjieba only for
    ``hmm=False``.

Both load the same user dictionaries (our governance dictionary, shipped as package
data, plus any files given) with the same frequencies and tags. A :class:`Segmenter`
keeps only its parameters as state: it pickles into worker processes and rebuilds its
backend lazily there, once per process (engines are cached by their parameters).

Examples
--------
>>> seg = Segmenter()
>>> seg.cut("小区三号楼停水两天了")
['小区', '三号', '楼', '停水', '两天', '了']
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError, ResourceError, value_invalid_msg

logger = logging.getLogger(__name__)

Backend = Literal["auto", "jieba", "rjieba"]
CutMode = Literal["accurate", "search"]
BACKENDS: tuple[str, ...] = ("auto", "jieba", "rjieba")
CUT_MODES: tuple[str, ...] = ("accurate", "search")

#: The packaged governance user dictionary (jieba format: ``word freq tag``).
GOVERNANCE_DICT = "governance_dict.txt"

# jieba splits text into blocks of these characters before dictionary lookup; a user
# word with any other character (a space, a full stop, Latin punctuation...) can never match.
_RE_HAN = re.compile(r"^[\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]+$")
_RE_TAG = re.compile(r"^[a-z]+$")


@dataclass(frozen=True)
class Token:
    """A token and its character span: ``text[start:end] == token.text``."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class DictEntry:
    word: str
    freq: int
    tag: str | None


def packaged_dict_path(name: str = GOVERNANCE_DICT) -> Path:
    """Path of a dictionary shipped in ``civictext/data``."""
    return Path(str(resources.files("civictext").joinpath("data").joinpath(name)))


def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_user_dict(path: str | os.PathLike[str]) -> list[DictEntry]:
    """Read and validate a jieba-format user dictionary (``word freq [tag]`` per line).

    Every entry needs an explicit positive frequency so that both backends give it the
    same weight (jieba and jieba-rs guess missing frequencies differently). Lines
    starting with ``#`` are comments.

    Raises
    ------
    ResourceError
        Naming the file and line, for a missing file, a word with whitespace or a
        character jieba cannot match, a missing/non-positive frequency or a bad tag.
    """
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise ResourceError(f"user dictionary not found: {p}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ResourceError(f"cannot read user dictionary {p}: {exc}") from exc
    entries: list[DictEntry] = []
    for lineno, line in enumerate(raw.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        where = f"{p}:{lineno}"
        if len(parts) not in (2, 3):
            raise ResourceError(f"{where}: expected 'word freq [tag]', got {line!r}")
        word = parts[0]
        if not _RE_HAN.match(word):
            raise ResourceError(
                f"{where}: word {word!r} contains characters jieba splits on before lookup "
                "(only CJK, Latin letters, digits and +#&._%- can match); it would never be found"
            )
        try:
            freq = int(parts[1])
        except ValueError:
            raise ResourceError(f"{where}: frequency must be a positive integer, got {parts[1]!r}") from None
        if freq <= 0:
            raise ResourceError(f"{where}: frequency must be a positive integer, got {freq}")
        tag = parts[2] if len(parts) == 3 else None
        if tag is not None and not _RE_TAG.match(tag):
            raise ResourceError(f"{where}: tag must be lower-case letters, got {tag!r}")
        entries.append(DictEntry(word, freq, tag))
    return entries


def cache_dir() -> Path:
    """The civictext cache directory (``$CIVICTEXT_CACHE_DIR`` or ``~/.cache/civictext``), created if needed.

    Falls back to a per-user directory under the system temp dir when the home cache is
    not writable (read-only file systems, containers).
    """
    candidates = []
    if os.environ.get("CIVICTEXT_CACHE_DIR"):
        candidates.append(Path(os.environ["CIVICTEXT_CACHE_DIR"]))
    candidates.append(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "civictext")
    candidates.append(
        Path(tempfile.gettempdir()) / f"civictext-{os.getuid() if hasattr(os, 'getuid') else 'u'}"
    )
    for cand in candidates:
        try:
            cand.mkdir(parents=True, exist_ok=True)
            if os.access(cand, os.W_OK):
                return cand
        except OSError:
            continue
    raise ResourceError(f"no writable cache directory among {[str(c) for c in candidates]}")


class _Engine:
    """A loaded backend: a private jieba Tokenizer or an rjieba Jieba, with user words added."""

    def __init__(self, backend: str, dict_paths: tuple[str, ...]) -> None:
        self.backend = backend
        entries = [e for p in dict_paths for e in read_user_dict(p)]
        if backend == "jieba":
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tk = jieba.Tokenizer()
            tk.tmp_dir = str(cache_dir())
            tk.initialize()
            for e in entries:
                tk.add_word(e.word, e.freq, e.tag)
            self.impl: Any = tk
        else:
            try:
                import rjieba
            except ImportError as exc:  # pragma: no cover - rjieba is a dependency
                raise ResourceError(
                    "backend 'rjieba' requested but the rjieba package is not installed"
                ) from exc
            jb = rjieba.Jieba()
            for e in entries:
                jb.add_word(e.word, e.freq, e.tag)
            self.impl = jb
        self._pos: Any = None

    def tokenize(self, text: str, mode: str, hmm: bool) -> list[tuple[str, int, int]]:
        jmode = "default" if mode == "accurate" else "search"
        if self.backend == "jieba":
            return list(self.impl.tokenize(text, mode=jmode, HMM=hmm))
        return list(self.impl.tokenize(text, mode=jmode, hmm=hmm))

    def cut(self, text: str, hmm: bool) -> list[str]:
        if self.backend == "jieba":
            return list(self.impl.cut(text, HMM=hmm))
        return list(self.impl.cut(text, hmm=hmm))

    def tag(self, text: str, hmm: bool) -> list[tuple[str, str]]:
        if self.backend == "jieba":
            if self._pos is None:
                import jieba.posseg

                self._pos = jieba.posseg.POSTokenizer(self.impl)
            return [(p.word, p.flag) for p in self._pos.cut(text, HMM=hmm)]
        return list(self.impl.tag(text, hmm=hmm))


@functools.lru_cache(maxsize=8)
def _load_engine(backend: str, dict_paths: tuple[str, ...]) -> _Engine:
    return _Engine(backend, dict_paths)


def rjieba_available() -> bool:
    try:
        import rjieba  # noqa: F401
    except ImportError:
        return False
    return True


class Segmenter:
    """Segment Chinese text into tokens with character offsets.

    Parameters
    ----------
    backend : {"auto", "jieba", "rjieba"}, default "auto"
        ``auto`` uses rjieba when it is installed and the configuration is one it
        reproduces exactly (``hmm=False``), jieba otherwise.
    hmm : bool, default False
        jieba's HMM new-word discovery. Off by default: measured on our dev split and on
        real citizen messages it does not improve classification (see BENCHMARKS.md),
        and with it off both backends agree token for token.
    mode : {"accurate", "search"}, default "accurate"
        jieba's accurate mode, or search mode (adds the dictionary 2- and 3-grams inside
        long words; offsets then overlap).
    user_dicts : sequence of str, optional
        Extra jieba-format dictionaries (``word freq [tag]``), loaded after the packaged
        governance dictionary.
    governance_dict : bool, default True
        Load the packaged governance dictionary.

    Notes
    -----
    The object holds parameters only; the backend is built on first use and cached
    per process, so copies and unpickled segmenters in workers share one dictionary.
    """

    def __init__(
        self,
        *,
        backend: Backend = "auto",
        hmm: bool = False,
        mode: CutMode = "accurate",
        user_dicts: Sequence[str] = (),
        governance_dict: bool = True,
    ) -> None:
        self.backend = backend
        self.hmm = hmm
        self.mode = mode
        self.user_dicts = tuple(str(p) for p in user_dicts)
        self.governance_dict = governance_dict
        self._engine: _Engine | None = None

    # -- configuration -------------------------------------------------------------------
    def _validate(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(value_invalid_msg("backend", self.backend, list(BACKENDS)))
        if self.mode not in CUT_MODES:
            raise ConfigError(value_invalid_msg("mode", self.mode, list(CUT_MODES)))
        if not isinstance(self.hmm, bool):
            raise ConfigError(value_invalid_msg("hmm", self.hmm, [True, False]))

    @property
    def resolved_backend(self) -> str:
        """The backend actually used: ``jieba`` or ``rjieba``."""
        self._validate()
        if self.backend == "auto":
            return "rjieba" if (not self.hmm and rjieba_available()) else "jieba"
        return self.backend

    @property
    def dict_paths(self) -> tuple[str, ...]:
        paths = (str(packaged_dict_path()),) if self.governance_dict else ()
        return paths + self.user_dicts

    def dict_checksums(self) -> dict[str, str]:
        """sha256 of every user dictionary, keyed by file name (recorded in model metadata)."""
        return {Path(p).name: file_sha256(p) for p in self.dict_paths}

    def describe(self) -> dict[str, Any]:
        """Parameters and resolved backend, for model metadata."""
        return {
            "backend": self.backend,
            "resolved_backend": self.resolved_backend,
            "hmm": self.hmm,
            "mode": self.mode,
            "user_dicts": [Path(p).name for p in self.dict_paths],
            "dict_sha256": self.dict_checksums(),
        }

    def with_backend(self, backend: Backend) -> Segmenter:
        """A copy of this segmenter on another backend."""
        return Segmenter(
            backend=backend,
            hmm=self.hmm,
            mode=self.mode,
            user_dicts=self.user_dicts,
            governance_dict=self.governance_dict,
        )

    # -- work ----------------------------------------------------------------------------
    @property
    def engine(self) -> _Engine:
        if self._engine is None:
            self._engine = _load_engine(self.resolved_backend, self.dict_paths)
        return self._engine

    def load(self) -> Segmenter:
        """Build the backend now (it is otherwise built on first use). Returns self."""
        _ = self.engine
        return self

    def tokenize(self, text: str) -> list[Token]:
        """All tokens, whitespace included, with offsets into ``text``."""
        if not isinstance(text, str):
            raise TypeError(f"Segmenter.tokenize expects str, got {type(text).__name__}")
        return [Token(w, s, e) for w, s, e in self.engine.tokenize(text, self.mode, self.hmm)]

    def iter_tokens(self, text: str) -> Iterator[Token]:
        """Tokens without whitespace-only ones."""
        for tok in self.tokenize(text):
            if not tok.text.isspace():
                yield tok

    def cut(self, text: str) -> list[str]:
        """Token strings without whitespace-only tokens (what the classifier sees)."""
        if not isinstance(text, str):
            raise TypeError(f"Segmenter.cut expects str, got {type(text).__name__}")
        if self.mode == "accurate":
            return [w for w in self.engine.cut(text, self.hmm) if not w.isspace()]
        return [t.text for t in self.iter_tokens(text)]

    __call__ = cut

    def tag(self, text: str) -> list[tuple[str, str]]:
        """(word, part-of-speech) pairs; jieba loads its POS model only when first asked."""
        return self.engine.tag(text, self.hmm)

    # -- pickling: parameters only, backend rebuilt lazily --------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_engine"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._engine = None

    def __repr__(self) -> str:
        return (
            f"Segmenter(backend={self.backend!r}, hmm={self.hmm!r}, mode={self.mode!r}, "
            f"user_dicts={self.user_dicts!r}, governance_dict={self.governance_dict!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Segmenter):
            return NotImplemented
        return self.__getstate__() == other.__getstate__()

    def __hash__(self) -> int:
        return hash((self.backend, self.hmm, self.mode, self.user_dicts, self.governance_dict))
