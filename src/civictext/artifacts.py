"""Model directories: ``model.joblib`` (the fitted :class:`~civictext.classify.TextClassifier`)
beside ``meta.json`` (versions, configuration, labels, dictionary and data checksums,
metrics, and the sha256 of ``model.joblib``).

joblib is pickle: loading runs code. :func:`load_model` therefore refuses a model file
whose sha256 differs from the one recorded in its metadata, and should only be pointed
at directories you trust (our own ``models/`` or ones you trained).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
import platform
import tempfile
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .about import __version__
from .compiled import CompiledClassifier
from .errors import ArtifactError, CivicTextWarning
from .segment import file_sha256

if TYPE_CHECKING:
    from .classify import TextClassifier

MODEL_FILE = "model.joblib"
COMPILED_FILE = "compiled.pkl"
META_FILE = "meta.json"
FORMAT_VERSION = 1
DEFAULT_MODEL_ENV = "CIVICTEXT_MODEL"


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def library_versions() -> dict[str, str | None]:
    return {
        "civictext": __version__,
        "python": platform.python_version(),
        **{d: _version(d) for d in ("scikit-learn", "numpy", "scipy", "joblib", "jieba", "rjieba")},
    }


@dataclass
class LoadedModel:
    """A classifier with the metadata it was saved with."""

    classifier: TextClassifier | CompiledClassifier
    meta: dict[str, Any]
    path: Path

    @property
    def name(self) -> str:
        return str(self.meta.get("name", self.path.name))

    @property
    def version(self) -> str:
        return f"{self.name}@{str(self.meta.get('model_sha256', ''))[:12]}"


def save_model(model: TextClassifier, out_dir: str | os.PathLike[str], *, meta: dict[str, Any]) -> Path:
    """Write ``model.joblib`` and ``meta.json`` into ``out_dir`` (created), atomically per file."""
    import joblib

    from .compiled import NotCompilable, compile_classifier

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _atomic_write(out / MODEL_FILE, lambda tmp: joblib.dump(model, tmp, compress=3))
    try:
        state: dict[str, Any] | None = compile_classifier(model)
    except NotCompilable as exc:
        state, why = None, str(exc)
    compiled_meta: dict[str, Any]
    if state is not None:
        _atomic_write(out / COMPILED_FILE, lambda tmp: _pickle_to(state, tmp))
        compiled_meta = {"compiled_file": COMPILED_FILE, "compiled_sha256": file_sha256(out / COMPILED_FILE)}
    else:
        (out / COMPILED_FILE).unlink(missing_ok=True)
        compiled_meta = {"compiled_file": None, "compiled_note": f"not compiled: {why}"}
    seg = model.pipeline_.named_steps["features"]
    full_meta = {
        "format_version": FORMAT_VERSION,
        "name": out.name,
        "created": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "versions": library_versions(),
        "labels": list(model.labels_),
        "multilabel": bool(model.multilabel_),
        "config": model.config.to_dict(),
        "segmenter": _segmenter_meta(seg),
        **meta,
        "model_file": MODEL_FILE,
        "model_sha256": file_sha256(out / MODEL_FILE),
        **compiled_meta,
    }
    tmp_meta = out / (META_FILE + ".tmp")
    tmp_meta.write_text(json.dumps(full_meta, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp_meta, out / META_FILE)
    return out


def _pickle_to(obj: Any, path: str) -> None:
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)


def _atomic_write(dest: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _segmenter_meta(features: Any) -> dict[str, Any] | None:
    for name, vec in getattr(features, "transformer_list", []):
        if name == "word":
            return dict(vec.tokenizer.describe())
    return None


def read_meta(model_dir: str | os.PathLike[str]) -> dict[str, Any]:
    d = Path(model_dir)
    if not d.is_dir():
        raise ArtifactError(f"model directory not found: {d}")
    meta_path = d / META_FILE
    if not meta_path.is_file():
        raise ArtifactError(f"{d} is not a civictext model directory: {META_FILE} is missing")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{meta_path} is corrupt: {exc}") from None
    if not isinstance(meta, dict) or "model_sha256" not in meta:
        raise ArtifactError(f"{meta_path} is corrupt: no model_sha256 recorded")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{meta_path}: model format {meta.get('format_version')!r}; this civictext reads format {FORMAT_VERSION}"
        )
    return meta


def load_model(model_dir: str | os.PathLike[str], *, backend: str | None = None, compiled: bool = False) -> LoadedModel:
    """Load a model directory after checking the model file against its recorded sha256.

    ``compiled=True`` loads the scikit-learn-free predictor (``compiled.pkl``, same
    probabilities, a fraction of the start-up cost) when the directory has one, and the
    full Pipeline otherwise. ``backend`` (``jieba``/``rjieba``/``auto``) swaps the
    segmentation backend the model was trained with; see :func:`switch_backend`.

    Raises
    ------
    ArtifactError
        Missing directory or files, corrupt metadata, checksum mismatch, unreadable model.
    """
    d = Path(model_dir)
    meta = read_meta(d)
    if compiled and meta.get("compiled_file"):
        return _load_compiled(d, meta, backend)
    import joblib

    from .classify import TextClassifier

    model_path = d / str(meta.get("model_file", MODEL_FILE))
    if not model_path.is_file():
        raise ArtifactError(f"{d}: {model_path.name} is missing")
    actual = file_sha256(model_path)
    if actual != meta["model_sha256"]:
        raise ArtifactError(
            f"{model_path}: sha256 {actual[:16]}… does not match {meta['model_sha256'][:16]}… recorded in "
            f"{META_FILE}; the file is corrupt or was replaced — refusing to load it"
        )
    try:
        clf = joblib.load(model_path)
    except Exception as exc:  # unpickling can raise anything
        raise ArtifactError(f"{model_path}: cannot be loaded ({type(exc).__name__}: {exc})") from None
    if not isinstance(clf, TextClassifier):
        raise ArtifactError(f"{model_path}: holds a {type(clf).__name__}, not a civictext TextClassifier")
    _check_dictionaries(clf, meta, d)
    if backend is not None:
        switch_backend(clf, backend)
    return LoadedModel(clf, meta, d)


def _load_compiled(d: Path, meta: dict[str, Any], backend: str | None) -> LoadedModel:
    path = d / str(meta["compiled_file"])
    if not path.is_file():
        raise ArtifactError(f"{d}: {path.name} is missing")
    actual = file_sha256(path)
    if actual != meta.get("compiled_sha256"):
        raise ArtifactError(
            f"{path}: sha256 {actual[:16]}… does not match the one recorded in {META_FILE}; "
            "the file is corrupt or was replaced — refusing to load it"
        )
    try:
        with open(path, "rb") as fh:
            clf = CompiledClassifier(pickle.load(fh))
    except Exception as exc:  # unpickling can raise anything
        raise ArtifactError(f"{path}: cannot be loaded ({type(exc).__name__}: {exc})") from None
    if backend is not None:
        from .segment import Segmenter

        old = Segmenter(**clf.segmenter_params)
        new = old.with_backend(backend)  # type: ignore[arg-type]
        if old.hmm and new.resolved_backend != old.resolved_backend:
            warnings.warn(
                _HMM_SWITCH.format(old=old.resolved_backend, new=new.resolved_backend), CivicTextWarning, stacklevel=3
            )
        clf.switch_backend(backend)
    return LoadedModel(clf, meta, d)


_HMM_SWITCH = (
    "model was trained with the {old} backend and HMM on; the {new} HMM decoder segments about 10% of texts "
    "differently, so predictions will differ from the recorded metrics (with HMM off the two backends agree)"
)


def switch_backend(clf: TextClassifier, backend: str) -> None:
    """Make a fitted classifier segment with another backend.

    With HMM off, jieba and rjieba give the same tokens (except on exact probability
    ties, a few texts in ten thousand), so predictions are the same. With HMM on their
    decoders disagree on about 10% of texts: the switch is made but a
    :class:`CivicTextWarning` says predictions will differ from the recorded metrics.
    """
    from .segment import Segmenter

    features = clf.pipeline_.named_steps["features"]
    for name, vec in getattr(features, "transformer_list", []):
        if name != "word":
            continue
        old: Segmenter = vec.tokenizer
        new = old.with_backend(backend)  # type: ignore[arg-type]
        if new.resolved_backend != old.resolved_backend and old.hmm:
            warnings.warn(
                _HMM_SWITCH.format(old=old.resolved_backend, new=new.resolved_backend), CivicTextWarning, stacklevel=2
            )
        vec.tokenizer = new


def _check_dictionaries(clf: Any, meta: dict[str, Any], d: Path) -> None:
    recorded = (meta.get("segmenter") or {}).get("dict_sha256") or {}
    seg_meta = _segmenter_meta(clf.pipeline_.named_steps["features"])
    if not recorded or seg_meta is None:
        return
    now = seg_meta["dict_sha256"]
    changed = sorted(k for k in recorded if now.get(k) != recorded[k])
    if changed:
        warnings.warn(
            f"model {d}: user dictionaries {changed} changed since training; segmentation (and so predictions) "
            "may differ from the recorded metrics — retrain the model",
            CivicTextWarning,
            stacklevel=3,
        )


def repo_root() -> Path | None:
    """The source checkout this package runs from (an editable install), if any."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "models").is_dir():
            return parent
    return None


def default_model_dir() -> Path:
    """``$CIVICTEXT_MODEL`` or ``models/default`` of the checkout civictext runs from."""
    env = os.environ.get(DEFAULT_MODEL_ENV)
    if env:
        return Path(env)
    root = repo_root()
    if root is None:
        raise ArtifactError(
            "no default model found: civictext is not running from a source checkout with models/default; "
            f"pass --model MODEL_DIR or set {DEFAULT_MODEL_ENV}"
        )
    return root / "models" / "default"
