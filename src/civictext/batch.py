"""Batch tagging of archives: read many files, analyse every article or record, lose nothing.

Inputs are files, directories and globs of plain-text newspaper pages (``.txt``, split
into articles by :mod:`civictext.pages`), JSON Lines, CSV and Parquet, gzip-compressed or
not. Text files are decoded as UTF-8 (BOM or not), GB18030 or Big5, whichever decodes
cleanly first, and the encoding is recorded; a file none of them decodes is rejected with
the offset of its first bad byte — never decoded lossily.

Work is cut into fixed-size chunks in input order. Each worker process loads the model
once (pool initializer). Results are appended to ``OUT.partial`` chunk by chunk, with a
state file recording how many chunks are done, so ``--resume`` continues after the last
complete chunk without duplicating or losing a record. The final output (JSON Lines, CSV
or Parquet) replaces ``OUT`` atomically at the end; rejected records go to
``OUT.errors.jsonl`` with source, line and reason. ``read == written + rejected`` always.
"""

from __future__ import annotations

import csv
import dataclasses
import glob
import gzip
import io
import json
import logging
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import InputError

logger = logging.getLogger(__name__)

OutFormat = Literal["jsonl", "csv", "parquet"]
_TEXT_SUFFIXES = (".txt",)
_KNOWN = (".txt", ".jsonl", ".json", ".ndjson", ".csv", ".parquet")
ENCODINGS = ("utf-8", "gb18030", "big5")


@dataclass(frozen=True)
class Unit:
    """One text to tag with its provenance."""

    source: str
    line: int | None
    text: str
    meta: dict[str, Any]
    id: str | None = None


@dataclass(frozen=True)
class Reject:
    source: str
    line: int | None
    reason: str
    code: str

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "line": self.line, "code": self.code, "reason": self.reason}


@dataclass
class TagSummary:
    read: int = 0
    written: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    resumed_chunks: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "written": self.written,
            "rejected": self.rejected,
            "rejected_by_reason": dict(self.reasons),
            "seconds": round(self.seconds, 2),
            "resumed_chunks": self.resumed_chunks,
        }


# -- inputs ------------------------------------------------------------------------------------


def _base_suffix(path: Path) -> str:
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    return Path(name).suffix.lower()


def expand_inputs(inputs: list[str]) -> list[Path]:
    """Files, directories (recursively, known suffixes) and globs, sorted, deduplicated."""
    found: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found += sorted(q for q in p.rglob("*") if q.is_file() and _base_suffix(q) in _KNOWN)
        elif p.is_file():
            found.append(p)
        else:
            matches = sorted(Path(m) for m in glob.glob(item, recursive=True) if Path(m).is_file())
            if not matches:
                raise InputError(f"input not found: {item}")
            found += matches
    out = list(dict.fromkeys(found))
    for p in out:
        if _base_suffix(p) not in _KNOWN:
            raise InputError(f"{p}: unsupported input type; expected one of {', '.join(_KNOWN)} (optionally .gz)")
    return out


def estimate_records(paths: list[Path]) -> int:
    """A quick estimate of the records to tag (for progress and ETA): non-blank lines of
    JSON Lines and CSV (minus headers), rows of Parquet, and 6 articles per text page."""
    total = 0
    for p in paths:
        suffix = _base_suffix(p)
        if suffix in _TEXT_SUFFIXES:
            total += 6
        elif suffix == ".parquet":
            try:
                import pyarrow.parquet as pq

                total += pq.ParquetFile(p).metadata.num_rows
            except Exception:  # an unreadable file is reported when it is read
                total += 1
        else:
            opener = gzip.open if p.name.endswith(".gz") else open
            try:
                with opener(p, "rb") as fh:
                    lines = sum(1 for line in fh if line.strip())
            except OSError:
                lines = 1
            total += max(lines - (1 if suffix == ".csv" else 0), 0)
    return total


def _read_bytes(path: Path) -> bytes:
    if path.name.endswith(".gz"):
        with gzip.open(path, "rb") as fh:
            return fh.read()
    return path.read_bytes()


_PLAUSIBLE = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef\u2010-\u201f\x20-\x7e\n\r\t]")


def _plausibility(text: str) -> float:
    """Share of characters that Chinese news text is made of (CJK, CJK/ASCII punctuation, ASCII)."""
    return len(_PLAUSIBLE.findall(text)) / max(len(text), 1)


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 (BOM stripped), GB18030 or Big5.

    Short GB18030 text can also be valid UTF-8 (停水 is), so every encoding that decodes
    cleanly is scored by how much of the result is plausible Chinese text, and the best
    wins (ties go to UTF-8, then GB18030). Raises InputError naming the first bad byte.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise InputError(f"UTF-8 BOM but invalid UTF-8 at byte {exc.start + 3}") from None
    first_error: UnicodeDecodeError | None = None
    candidates: list[tuple[float, int, str, str]] = []
    for rank, enc in enumerate(ENCODINGS):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError as exc:
            first_error = first_error or exc
            continue
        candidates.append((_plausibility(text), -rank, text, enc))
    if candidates:
        _, _, text, enc = max(candidates)
        return text, enc
    assert first_error is not None
    raise InputError(
        f"not valid UTF-8, GB18030 or Big5 (first undecodable byte at offset {first_error.start}: "
        f"{data[first_error.start : first_error.start + 1]!r})"
    )


def iter_units(path: Path, *, text_field: str = "text", split_pages: bool | None = None) -> Iterator[Unit | Reject]:
    """Units (texts to tag) and rejects of one input file, in file order."""
    src = str(path)
    suffix = _base_suffix(path)
    if suffix in _TEXT_SUFFIXES:
        try:
            text, enc = decode_text(_read_bytes(path))
        except InputError as exc:
            yield Reject(src, None, str(exc), "E_ENCODING")
            return
        if not text.strip():
            yield Reject(src, None, "empty file", "E_EMPTY")
            return
        if split_pages is False:
            yield Unit(src, None, text, {"source": src, "encoding": enc})
            return
        from .pages import split_page

        for item in split_page(text):
            d = item.to_dict(text)
            yield Unit(src, None, item.text(text), {"source": src, "encoding": enc, **d})
        return
    if suffix == ".parquet":
        yield from _iter_parquet(path, text_field)
        return
    try:
        raw = _read_bytes(path)
    except OSError as exc:
        yield Reject(src, None, f"cannot read: {exc.strerror}", "E_IO")
        return
    if suffix == ".csv":
        yield from _iter_csv(src, raw, text_field)
        return
    for lineno, line in enumerate(raw.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            s = line.decode("utf-8-sig" if lineno == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            yield Reject(src, lineno, f"not valid UTF-8 at byte {exc.start}", "E_ENCODING")
            continue
        try:
            obj = json.loads(s)
        except json.JSONDecodeError as exc:
            yield Reject(src, lineno, f"invalid JSON ({exc.msg} at column {exc.colno})", "E_JSON")
            continue
        if not isinstance(obj, dict):
            yield Reject(src, lineno, "expected a JSON object", "E_JSON")
            continue
        yield _unit_from_record(src, lineno, obj, text_field)


def _unit_from_record(src: str, lineno: int, obj: dict[str, Any], text_field: str) -> Unit | Reject:
    text = obj.get(text_field)
    if not isinstance(text, str):
        return Reject(src, lineno, f"field {text_field!r} missing or not a string", "E_FIELD")
    if not text.strip():
        return Reject(src, lineno, "empty text", "E_EMPTY")
    rid = obj.get("id")
    meta = {k: v for k, v in obj.items() if k != text_field}
    meta.update({"source": src, "line": lineno})
    return Unit(src, lineno, text, meta, None if rid is None else str(rid))


def _iter_csv(src: str, raw: bytes, text_field: str) -> Iterator[Unit | Reject]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield Reject(src, None, f"not valid UTF-8 at byte {exc.start}", "E_ENCODING")
        return
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if text_field not in (reader.fieldnames or []):
        yield Reject(src, 1, f"CSV header lacks column {text_field!r}; found {reader.fieldnames}", "E_FIELD")
        return
    try:
        for row in reader:
            yield _unit_from_record(src, reader.line_num, dict(row), text_field)
    except csv.Error as exc:
        yield Reject(src, reader.line_num, f"malformed CSV: {exc}", "E_CSV")


def _iter_parquet(path: Path, text_field: str) -> Iterator[Unit | Reject]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"{path}: reading Parquet needs pyarrow (pip install 'civictext[archive]')") from None
    table = pq.read_table(path)
    for i, row in enumerate(table.to_pylist(), 1):
        yield _unit_from_record(str(path), i, row, text_field)


# -- workers -----------------------------------------------------------------------------------

_ANALYZER: Any = None


def _init_worker(model_dir: str | None, routes: str | None, entities: bool) -> None:
    global _ANALYZER
    from .pipeline import Analyzer
    from .routing import load_routing_table

    table = load_routing_table(routes) if entities else None
    _ANALYZER = Analyzer.load(model_dir, routes=table, entities=entities)


def _tag_chunk(units: list[Unit]) -> list[dict[str, Any]]:
    from .pipeline import TextInput
    from .record import AnalysisRecord

    out = []
    inputs = [TextInput(u.text, u.id, u.line, u.meta) for u in units]
    for unit, rec in zip(units, _ANALYZER.analyze_many(inputs), strict=True):
        if isinstance(rec, AnalysisRecord):
            if unit.meta.get("kind") == "listing":
                rec = dataclasses.replace(rec, category="other", category_name=_ANALYZER.taxonomy.display_name("other"),
                                          meta={**rec.meta, "category_rule": "listing"})  # fmt: skip
            out.append({"ok": True, "record": rec.to_dict()})
        else:
            out.append({"ok": False, "reject": Reject(unit.source, unit.line, rec.message, rec.code).to_dict()})
    return out


# -- the job -----------------------------------------------------------------------------------


def _chunks(items: Iterator[Unit | Reject], size: int) -> Iterator[list[Unit | Reject]]:
    chunk: list[Unit | Reject] = []
    for it in items:
        chunk.append(it)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _write_chunk(
    chunk: list[Unit | Reject], results: list[dict[str, Any]], fout: Any, ferr: Any, summary: TagSummary
) -> None:
    """Write one chunk in input order: records to ``fout``, rejects (from reading or analysis) to
    ``ferr``; count every input item exactly once."""
    it = iter(results)
    for item in chunk:
        summary.read += 1
        if isinstance(item, Reject):
            reject = item.to_dict()
        else:
            res = next(it)
            if res["ok"]:
                summary.written += 1
                fout.write(json.dumps(res["record"], ensure_ascii=False) + "\n")
                continue
            reject = res["reject"]
        summary.rejected += 1
        summary.reasons[reject["code"]] += 1
        ferr.write(json.dumps(reject, ensure_ascii=False) + "\n")


def _all_items(paths: list[Path], text_field: str, split_pages: bool | None) -> Iterator[Unit | Reject]:
    for p in paths:
        yield from iter_units(p, text_field=text_field, split_pages=split_pages)


def output_format(out: Path, fmt: str | None) -> OutFormat:
    if fmt:
        if fmt not in ("jsonl", "csv", "parquet"):
            raise InputError(f"invalid value for --format: {fmt!r}; allowed: jsonl, csv, parquet")
        return fmt  # type: ignore[return-value]
    suffix = out.suffix.lower()
    return {".csv": "csv", ".parquet": "parquet"}.get(suffix, "jsonl")  # type: ignore[return-value]


def _flatten(rec: dict[str, Any]) -> dict[str, Any]:
    route = rec.get("route") or {}
    meta = rec.get("meta") or {}
    return {
        "id": rec.get("id"),
        "source": meta.get("source"),
        "line": meta.get("line"),
        "article_index": meta.get("article_index"),
        "title": meta.get("title"),
        "category": rec["category"],
        "confidence": rec["confidence"],
        "predicted_labels": "|".join(rec["predicted_labels"]),
        "office": (route.get("office") or {}).get("id"),
        "priority": route.get("priority"),
        "needs_review": route.get("needs_review"),
        "entities": json.dumps(rec["entities"], ensure_ascii=False),
        "record": json.dumps(rec, ensure_ascii=False),
    }


def _finalize(partial: Path, out: Path, fmt: OutFormat) -> None:
    tmp = out.with_name(out.name + ".tmp")
    if fmt == "jsonl":
        os.replace(partial, out)
        return
    rows = [_flatten(json.loads(line)) for line in partial.read_text(encoding="utf-8").splitlines() if line]
    if fmt == "csv":
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fields = list(_flatten({"category": "", "confidence": 0, "predicted_labels": [], "entities": []}))
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    else:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise InputError("writing Parquet needs pyarrow (pip install 'civictext[archive]')") from None
        pq.write_table(pa.Table.from_pylist(rows), tmp)
    os.replace(tmp, out)
    partial.unlink()


def tag(
    inputs: list[str],
    out: str | os.PathLike[str],
    *,
    model_dir: str | None = None,
    routes: str | None = None,
    fmt: str | None = None,
    text_field: str = "text",
    split_pages: bool | None = None,
    workers: int = 1,
    chunk_size: int = 64,
    resume: bool = False,
    entities: bool = True,
    progress: Callable[[int, int, float], None] | None = None,
    stop_after_chunks: int | None = None,
    on_total: Callable[[int], None] | None = None,
) -> TagSummary:
    """Tag every article/record of ``inputs`` into ``out``; see the module docstring.

    ``stop_after_chunks`` stops early as a crash would (for tests of ``resume``).
    """
    out_path = Path(out)
    out_fmt = output_format(out_path, fmt)
    # never read our own output, errors, partial or state files back as input
    own = out_path.resolve()
    paths = [
        p for p in expand_inputs(inputs)
        if not (p.resolve().parent == own.parent and p.name.startswith(own.name))
    ]  # fmt: skip
    if not paths:
        raise InputError("no input files (besides the output itself)")
    if on_total is not None:
        on_total(estimate_records(paths))
    partial = out_path.with_name(out_path.name + ".partial")
    errors_partial = out_path.with_name(out_path.name + ".errors.jsonl.partial")
    state_path = out_path.with_name(out_path.name + ".state.json")
    job = {"inputs": [str(p) for p in paths], "sizes": [p.stat().st_size for p in paths], "chunk_size": chunk_size,
           "text_field": text_field, "split_pages": split_pages, "entities": entities}  # fmt: skip
    summary = TagSummary()
    done_chunks = 0
    if resume and state_path.exists():
        state = json.loads(state_path.read_text(encoding="utf-8"))
        if state.get("job") != job:
            raise InputError(f"{state_path}: the inputs or options differ from the interrupted run; cannot resume")
        done_chunks = int(state["done_chunks"])
        counts = state["summary"]
        summary.read, summary.written, summary.rejected = counts["read"], counts["written"], counts["rejected"]
        summary.reasons.update(counts["rejected_by_reason"])
        summary.resumed_chunks = done_chunks
        # drop anything written after the last complete chunk
        for f, size in ((partial, state["partial_bytes"]), (errors_partial, state["errors_bytes"])):
            if f.exists():
                with open(f, "r+b") as fh:
                    fh.truncate(size)
    else:
        for f in (partial, errors_partial, state_path):
            f.unlink(missing_ok=True)
    t0 = time.perf_counter()
    chunks = _chunks(_all_items(paths, text_field, split_pages), chunk_size)
    for _ in range(done_chunks):
        next(chunks, None)

    def units_of(chunk: list[Unit | Reject]) -> list[Unit]:
        return [u for u in chunk if isinstance(u, Unit)]

    pool = None
    if workers > 1:
        import multiprocessing as mp

        ctx = mp.get_context("spawn" if sys.platform == "darwin" else "fork")
        pool = ctx.Pool(workers, initializer=_init_worker, initargs=(model_dir, routes, entities))
        pending = ((c, pool.apply_async(_tag_chunk, (units_of(c),))) for c in chunks)
        # keep a bounded window of chunks in flight, results consumed in order
        window: list[Any] = []

        def results() -> Iterator[tuple[list[Unit | Reject], list[dict[str, Any]]]]:
            for item in pending:
                window.append(item)
                if len(window) >= workers * 2:
                    c, r = window.pop(0)
                    yield c, r.get()
            while window:
                c, r = window.pop(0)
                yield c, r.get()

        stream = results()
    else:
        _init_worker(model_dir, routes, entities)
        stream = ((c, _tag_chunk(units_of(c))) for c in chunks)
    try:
        with open(partial, "a", encoding="utf-8") as fout, open(errors_partial, "a", encoding="utf-8") as ferr:
            n_chunk = done_chunks
            for chunk, results_ in stream:
                _write_chunk(chunk, results_, fout, ferr, summary)
                fout.flush()
                ferr.flush()
                os.fsync(fout.fileno())
                os.fsync(ferr.fileno())
                n_chunk += 1
                state = {"job": job, "done_chunks": n_chunk, "summary": summary.to_dict(),
                         "partial_bytes": fout.tell(), "errors_bytes": ferr.tell()}  # fmt: skip
                tmp_state = state_path.with_name(state_path.name + ".tmp")
                tmp_state.write_text(json.dumps(state), encoding="utf-8")
                os.replace(tmp_state, state_path)
                if progress:
                    progress(summary.read, summary.written, time.perf_counter() - t0)
                if stop_after_chunks is not None and n_chunk - done_chunks >= stop_after_chunks:
                    summary.seconds = time.perf_counter() - t0
                    return summary
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    assert summary.read == summary.written + summary.rejected
    _finalize(partial, out_path, out_fmt)
    os.replace(errors_partial, out_path.with_name(out_path.name + ".errors.jsonl"))
    state_path.unlink(missing_ok=True)
    summary.seconds = time.perf_counter() - t0
    return summary


# -- Dask engine -------------------------------------------------------------------------------


def _dask_tag_file(
    index: int,
    path: str,
    out_dir: str,
    text_field: str,
    split_pages: bool | None,
    model_dir: str | None,
    routes: str | None,
    entities: bool,
    chunk_size: int,
) -> dict[str, Any]:
    """Tag one input file on a Dask worker into ``part-<index>.jsonl`` (+ errors); returns counts only."""
    if _ANALYZER is None:  # the worker plugin loads it once per worker; this is a fallback
        _init_worker(model_dir, routes, entities)
    out = Path(out_dir)
    summary = TagSummary()
    part = out / f"part-{index:05d}.jsonl"
    err = out / f"errors-{index:05d}.jsonl"
    tmp_part, tmp_err = part.with_suffix(".jsonl.tmp"), err.with_suffix(".jsonl.tmp")
    with open(tmp_part, "w", encoding="utf-8") as fout, open(tmp_err, "w", encoding="utf-8") as ferr:
        for chunk in _chunks(iter_units(Path(path), text_field=text_field, split_pages=split_pages), chunk_size):
            _write_chunk(chunk, _tag_chunk([u for u in chunk if isinstance(u, Unit)]), fout, ferr, summary)
    os.replace(tmp_part, part)
    os.replace(tmp_err, err)
    return summary.to_dict()


def tag_dask(
    inputs: list[str],
    out_dir: str | os.PathLike[str],
    *,
    scheduler: str | None = None,
    model_dir: str | None = None,
    routes: str | None = None,
    text_field: str = "text",
    split_pages: bool | None = None,
    entities: bool = True,
    chunk_size: int = 64,
    n_workers: int = 2,
) -> TagSummary:
    """Tag on a Dask cluster: one task per input file, each writing its own partition
    (``part-NNNNN.jsonl`` and ``errors-NNNNN.jsonl`` in ``out_dir``); only counts return to the
    client, so the data never passes through one process. Without ``scheduler`` a
    ``LocalCluster`` of ``n_workers`` processes is started. Each worker loads the model once
    (a worker plugin). Workers need civictext installed and read access to the inputs, the
    model directory and ``out_dir`` (a shared file system).
    """
    try:
        import distributed
    except ImportError:
        raise InputError("--engine dask needs dask.distributed (pip install 'civictext[dask]')") from None
    dist: Any = distributed  # distributed is only partly typed

    class LoadModel(distributed.WorkerPlugin):
        name = "civictext-load-model"

        def setup(self, worker: Any) -> None:
            _init_worker(model_dir, routes, entities)

    paths = expand_inputs(inputs)
    out = Path(out_dir)
    if out.exists() and any(out.glob("part-*.jsonl")):
        raise InputError(f"{out} already holds partitions; choose an empty --out directory")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    cluster = None if scheduler else dist.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                                  dashboard_address=None)  # fmt: skip
    client = dist.Client(scheduler or cluster)
    try:
        client.register_plugin(LoadModel())
        futures = [
            client.submit(
                _dask_tag_file,
                i,
                str(p),
                str(out),
                text_field,
                split_pages,
                model_dir,
                routes,
                entities,
                chunk_size,
                pure=False,
            )  # fmt: skip
            for i, p in enumerate(paths)
        ]
        parts = client.gather(futures)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    summary = TagSummary()
    for d in parts:
        summary.read += d["read"]
        summary.written += d["written"]
        summary.rejected += d["rejected"]
        summary.reasons.update(d["rejected_by_reason"])
    assert summary.read == summary.written + summary.rejected
    (out / "_SUCCESS.json").write_text(
        json.dumps({"inputs": [str(p) for p in paths], **summary.to_dict()}), encoding="utf-8"
    )
    summary.seconds = time.perf_counter() - t0
    return summary
