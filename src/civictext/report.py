"""Summaries of a tagged archive: counts by category, district and month, top entities, charts.

Reads the output of ``civictext tag`` (JSON Lines, CSV or Parquet) and writes into a folder:
``by_category.csv``, ``by_district.csv``, ``by_month.csv``, ``top_entities.csv``,
``report.md`` and, when matplotlib is installed (``civictext[report]``),
``categories_over_time.png`` and ``category_district_heatmap.png``.

The district of a record is its most specific administrative division resolved by the
gazetteer (county, else prefecture, else province), named with its parent chain; records
without one count as ``(none)``. The month comes from a date-like field carried in the
record's meta (``date``, ``published``, ``time``...), when there is one.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import InputError

_DATE_KEYS = ("date", "published", "publish_date", "pub_date", "time", "created", "created_at", "datetime")
_MONTH = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})")
_LEVEL_RANK = {"county": 3, "prefecture": 2, "province": 1}
NONE = "(none)"


def read_tagged(path: str | Path) -> Iterator[dict[str, Any]]:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"tagged archive not found: {p}")
    suffix = p.suffix.lower()
    if suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise InputError("reading Parquet needs pyarrow (pip install 'civictext[archive]')") from None
        for row in pq.read_table(p).to_pylist():
            yield json.loads(row["record"])
    elif suffix == ".csv":
        with open(p, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                yield json.loads(row["record"])
    else:
        with open(p, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise InputError(f"{p}:{lineno}: not a tagged record ({exc.msg})") from None


def record_district(rec: dict[str, Any]) -> str:
    best: tuple[int, str] = (0, NONE)
    for e in rec.get("entities") or []:
        norm = e.get("normalized") or {}
        rank = _LEVEL_RANK.get(norm.get("level", ""), 0)
        if e.get("type") == "DISTRICT" and norm.get("code") and rank > best[0]:
            best = (rank, "›".join(norm.get("chain") or [norm.get("name", "")]))
    return best[1]


def record_month(rec: dict[str, Any]) -> str | None:
    meta = rec.get("meta") or {}
    for key in _DATE_KEYS:
        value = meta.get(key)
        if isinstance(value, str):
            m = _MONTH.search(value)
            if m and 1 <= int(m.group(2)) <= 12:
                return f"{m.group(1)}-{int(m.group(2)):02d}"
    return None


def summarize(path: str | Path, *, top: int = 10) -> dict[str, Any]:
    by_cat: Counter[str] = Counter()
    by_district: Counter[str] = Counter()
    by_month: dict[str, Counter[str]] = defaultdict(Counter)
    cat_district: dict[tuple[str, str], int] = Counter()
    top_entities: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    n = 0
    for rec in read_tagged(path):
        n += 1
        cat = rec["category"]
        by_cat[cat] += 1
        district = record_district(rec)
        by_district[district] += 1
        cat_district[(cat, district)] += 1
        month = record_month(rec)
        if month:
            by_month[month][cat] += 1
        for e in {(e["type"], e["text"]) for e in rec.get("entities") or []}:
            top_entities[cat][e] += 1
    return {
        "records": n,
        "by_category": by_cat.most_common(),
        "by_district": by_district.most_common(),
        "by_month": {m: dict(c) for m, c in sorted(by_month.items())},
        "category_district": {f"{c}\t{d}": v for (c, d), v in cat_district.items()},
        "top_entities": {
            c: [[t, s, k] for (t, s), k in cnt.most_common(top)] for c, cnt in sorted(top_entities.items())
        },
    }


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def write_report(path: str | Path, out_dir: str | Path, *, top: int = 10) -> dict[str, Any]:
    """Write the tables, the Markdown report and (with matplotlib) the charts; returns the summary."""
    s = summarize(path, top=top)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out / "by_category.csv", ["category", "records"], [list(x) for x in s["by_category"]])
    _write_csv(out / "by_district.csv", ["district", "records"], [list(x) for x in s["by_district"]])
    cats = [c for c, _ in s["by_category"]]
    _write_csv(
        out / "by_month.csv",
        ["month", *cats],
        [[m, *(row.get(c, 0) for c in cats)] for m, row in s["by_month"].items()],
    )
    _write_csv(
        out / "top_entities.csv",
        ["category", "type", "entity", "records"],
        [[c, t, e, k] for c, rows in s["top_entities"].items() for t, e, k in rows],
    )
    md = [f"# Archive report: {Path(path).name}", "", f"{s['records']} records.", "", "## By category", "",
          "| category | records |", "|---|---:|"]  # fmt: skip
    md += [f"| {c} | {k} |" for c, k in s["by_category"]]
    md += ["", "## By district (most specific resolved division)", "", "| district | records |", "|---|---:|"]
    md += [f"| {d} | {k} |" for d, k in s["by_district"][:30]]
    if s["by_month"]:
        md += ["", "## By month", "", "| month | " + " | ".join(cats) + " |", "|---|" + "---:|" * len(cats)]
        md += [f"| {m} | " + " | ".join(str(row.get(c, 0)) for c in cats) + " |" for m, row in s["by_month"].items()]
    md += ["", "## Top entities per category", ""]
    for c, rows in s["top_entities"].items():
        md.append(f"- **{c}**: " + ", ".join(f"{e} ({t}, {k})" for t, e, k in rows))
    heat = [d for d, _ in s["by_district"] if d != NONE][:15]
    if heat:
        md += ["", "## Heat map columns", ""] + [f"- D{i + 1}: {d}" for i, d in enumerate(heat)]
    (out / "report.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    s["charts"] = _charts(s, out)
    return s


def _charts(s: dict[str, Any], out: Path) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib import font_manager
    except ImportError:
        return []
    written = []
    cjk = [
        f.name
        for f in font_manager.fontManager.ttflist
        if any(k in f.name for k in ("CJK", "Hei", "Song", "WenQuanYi"))
    ]
    if cjk:
        plt.rcParams["font.sans-serif"] = [cjk[0], "DejaVu Sans"]
    cats = [c for c, _ in s["by_category"]]
    if s["by_month"]:
        months = list(s["by_month"])
        fig, ax = plt.subplots(figsize=(9, 4.5))
        for c in cats:
            ax.plot(months, [s["by_month"][m].get(c, 0) for m in months], marker="o", label=c)
        ax.set_title("Records per category and month")
        ax.set_ylabel("records")
        ax.legend(fontsize=7, ncol=2)
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(out / "categories_over_time.png", dpi=110)
        plt.close(fig)
        written.append("categories_over_time.png")
    districts = [d for d, _ in s["by_district"] if d != NONE][:15]
    if districts and cats:
        import numpy as np

        grid = np.array([[s["category_district"].get(f"{c}\t{d}", 0) for d in districts] for c in cats])
        # without a CJK font, district names would render as boxes: label them by rank instead
        labels = [d.split("›")[-1] for d in districts] if cjk else [f"D{i + 1}" for i in range(len(districts))]
        fig, ax = plt.subplots(figsize=(max(6, len(districts) * 0.6), max(4, len(cats) * 0.35)))
        im = ax.imshow(grid, cmap="Blues", aspect="auto")
        ax.set_xticks(range(len(districts)), labels, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(len(cats)), cats, fontsize=7)
        ax.set_title("Records: category × district" + ("" if cjk else " (D1… listed in report.md)"))
        fig.colorbar(im, ax=ax)
        fig.tight_layout()
        fig.savefig(out / "category_district_heatmap.png", dpi=110)
        plt.close(fig)
        written.append("category_district_heatmap.png")
    return written
