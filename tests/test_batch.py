"""Batch tagging: planted bad records, counts, encodings, workers, resume, page splitting."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from civictext.batch import decode_text, tag
from civictext.cli import app
from civictext.errors import InputError
from civictext.pages import split_page

from .conftest import ROOT, shared_file

PAGE = (ROOT / "examples" / "newspaper-page.txt").read_text(encoding="utf-8")


@pytest.fixture()
def archive(tmp_path: Path) -> Path:
    d = tmp_path / "archive"
    d.mkdir()
    good = [{"id": f"g{i}", "text": t, "date": "2024-07-0" + str(i)} for i, t in
            enumerate(["小区停水三天了", "楼上漏水邻居不管，请社区调解", "托育机构收费太高"], 1)]  # fmt: skip
    lines = [json.dumps(r, ensure_ascii=False).encode() for r in good]
    lines += [b"{not json", json.dumps({"id": "e", "text": "  "}).encode(), json.dumps({"id": "n", "text": 7}).encode(),
              b'{"id": "u", "text": "\xff\xfe"}']  # fmt: skip
    (d / "messages.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    with gzip.open(d / "more.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "z", "text": "公交车站台坏了"}, ensure_ascii=False) + "\n")
    (d / "table.csv").write_text("id,text\nc1,自来水发黄\nc2,\n", encoding="utf-8")
    (d / "page-utf8.txt").write_text(PAGE, encoding="utf-8")
    (d / "page-bom.txt").write_bytes(b"\xef\xbb\xbf" + "株洲市停水\n本报讯（记者 王磊）昨日停水。\n".encode())
    (d / "page-gbk.txt").write_bytes("芦淞区停水\n本报讯（记者 王磊）昨日停水。\n".encode("gb18030"))
    (d / "page-big5.txt").write_bytes("臺北市停水\n本報訊（記者 王磊）昨日停水。\n".encode("big5"))
    (d / "broken.txt").write_bytes(b"\x80\x81\xff\xfe garbage \xff")
    (d / "empty.txt").write_text("  \n", encoding="utf-8")
    return d


def _records(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_counts_add_up_and_nothing_is_lost(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    s = tag([str(archive)], out, entities=False, chunk_size=3)
    recs = _records(out)
    errors = _records(tmp_path / "out.jsonl.errors.jsonl")
    assert s.read == s.written + s.rejected
    assert len(recs) == s.written and len(errors) == s.rejected
    assert s.rejected == 7 and dict(s.reasons) == {"E_JSON": 1, "E_EMPTY": 3, "E_FIELD": 1, "E_ENCODING": 2}
    by_source = {(e["source"].split("/")[-1], e["line"]): e["code"] for e in errors}
    assert by_source[("messages.jsonl", 4)] == "E_JSON" and by_source[("messages.jsonl", 7)] == "E_ENCODING"
    assert by_source[("table.csv", 3)] == "E_EMPTY" and by_source[("broken.txt", None)] == "E_ENCODING"
    ids = {r["id"] for r in recs}
    assert {"g1", "g2", "g3", "z", "c1"} <= ids
    carried = next(r for r in recs if r["id"] == "g1")
    assert carried["meta"]["date"] == "2024-07-01" and carried["meta"]["line"] == 1
    encodings = {Path(r["meta"]["source"]).name: r["meta"].get("encoding") for r in recs if "encoding" in r["meta"]}
    assert encodings == {"page-utf8.txt": "utf-8", "page-bom.txt": "utf-8-sig", "page-gbk.txt": "gb18030",
                         "page-big5.txt": "big5"}  # fmt: skip
    gbk = next(r for r in recs if r["meta"]["source"].endswith("page-gbk.txt"))
    assert gbk["meta"]["title"] == "芦淞区停水"
    assert not list(tmp_path.glob("out.jsonl.partial")) and not list(tmp_path.glob("*.state.json"))


def test_decoding() -> None:
    assert decode_text("停水".encode("gb18030")) == ("停水", "gb18030")
    assert decode_text("停水".encode()) == ("停水", "utf-8")
    assert decode_text("臺北市停水了".encode("big5")) == ("臺北市停水了", "big5")
    with pytest.raises(InputError, match="offset 0"):
        decode_text(b"\x80\xff\xff")


def test_listing_is_its_own_item_tagged_other_and_offsets_index_the_page(tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    page.write_text(PAGE, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    tag([str(page)], out, entities=True, chunk_size=4)
    recs = _records(out)
    kinds = [r["meta"]["kind"] for r in recs]
    assert kinds.count("listing") == 1 and kinds.count("article") >= 5
    listing = next(r for r in recs if r["meta"]["kind"] == "listing")
    assert listing["category"] == "other" and listing["meta"]["category_rule"] == "listing"
    for r in recs:
        for para in r["meta"]["paragraphs"]:
            assert PAGE[para["start"] : para["end"]].strip() == PAGE[para["start"] : para["end"]]
        assert r["route"] is not None
    water = next(r for r in recs if "二次供水" in r["meta"]["title"])
    assert water["category"] == "water_supply"


def test_page_split_roles() -> None:
    items = split_page(PAGE)
    first = items[0].to_dict(PAGE)
    roles = [p["role"] for p in first["paragraphs"]]
    assert "editor_note" in roles and "caption" in roles and "continuation" in roles and "byline" in roles
    assert first["bylines"][0].startswith("本报讯")
    assert any(it.folded for it in items), "the pull-quote repeated by the layout is folded"


def test_two_workers_give_the_same_records(archive: Path, tmp_path: Path) -> None:
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    tag([str(archive)], one, entities=False, chunk_size=2, workers=1)
    tag([str(archive)], two, entities=False, chunk_size=2, workers=2)
    assert _records(one) == _records(two)


def test_resume_continues_without_duplicates_or_losses(archive: Path, tmp_path: Path) -> None:
    full, part = tmp_path / "full.jsonl", tmp_path / "part.jsonl"
    tag([str(archive)], full, entities=False, chunk_size=2)
    s1 = tag([str(archive)], part, entities=False, chunk_size=2, stop_after_chunks=2)
    assert not part.exists(), "an interrupted run must not leave something that looks complete"
    with open(tmp_path / "part.jsonl.partial", "a", encoding="utf-8") as fh:
        fh.write('{"half a record')  # a crash in the middle of a write
    s2 = tag([str(archive)], part, entities=False, chunk_size=2, resume=True)
    assert s2.resumed_chunks == 2 and s1.read < s2.read
    assert _records(part) == _records(full)
    with pytest.raises(InputError, match="differ"):
        tag([str(archive)], part, entities=False, chunk_size=3, stop_after_chunks=1)
        tag([str(archive)], part, entities=False, chunk_size=2, resume=True)


def test_csv_output_and_cli_summary(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(app, ["tag", str(archive), "--out", str(out), "--workers", "1", "--no-entities"])
    assert res.exit_code == 0, res.stderr
    assert "records read" in res.stderr and "7 rejected" in res.stderr
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("id,source,line,article_index,title,category,confidence")
    res = CliRunner().invoke(app, ["tag", str(tmp_path / "nothing-here"), "--out", str(out)])
    assert res.exit_code == 2 and "input not found" in res.stderr


@pytest.mark.shared
def test_real_newspaper_page_is_split_into_articles() -> None:
    page = shared_file("../seeds/zhuzhou-daily-page.txt").read_text(encoding="utf-8")
    items = split_page(page)
    titles = [it.title(page) for it in items]
    assert len(items) >= 6 and any("手足口病" in t for t in titles) and any("托育" in t for t in titles)
    assert sum(len(it.folded) for it in items) >= 5  # the layout repeats a block of paragraphs


def test_parquet_in_and_out(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist([{"id": "p1", "body": "小区停水了"}, {"id": "p2", "body": ""}]), src)
    out = tmp_path / "out.parquet"
    s = tag([str(src)], out, entities=False, text_field="body")
    assert (s.read, s.written, s.rejected) == (2, 1, 1)
    rows = pq.read_table(out).to_pylist()
    assert rows[0]["id"] == "p1" and rows[0]["category"] == "water_supply"
    assert json.loads(rows[0]["record"])["meta"]["source"].endswith("in.parquet")


def test_report_tables_and_charts(tmp_path: Path) -> None:
    from civictext.report import write_report

    rows = [
        {"id": "1", "text": "株洲市芦淞区锦绣江山小区停水三天了", "date": "2024-05-03"},
        {"id": "2", "text": "芦淞区建设路小区又停水了，水压太低", "date": "2024-06-11"},
        {"id": "3", "text": "长沙市岳麓区某幼儿园收费太高，孩子入学难", "published": "2024年6月20日"},
        {"id": "4", "text": "邻居装修噪音太大，请社区调解"},
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    tagged = tmp_path / "tagged.jsonl"
    tag([str(src)], tagged)
    s = write_report(tagged, tmp_path / "rep")
    assert s["records"] == 4
    assert dict(s["by_district"])["湖南省›株洲市›芦淞区"] == 2
    assert set(s["by_month"]) == {"2024-05", "2024-06"}
    for name in ("by_category.csv", "by_district.csv", "by_month.csv", "top_entities.csv", "report.md"):
        assert (tmp_path / "rep" / name).is_file()
    assert set(s["charts"]) == {"categories_over_time.png", "category_district_heatmap.png"}
    assert (tmp_path / "rep" / "categories_over_time.png").read_bytes()[:4] == b"\x89PNG"
    res = CliRunner().invoke(app, ["report", str(tagged), "--out-dir", str(tmp_path / "rep2")])
    assert res.exit_code == 0 and "4 records" in res.stdout


def test_dask_engine_on_a_local_cluster_equals_the_local_engine(archive: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed", reason="the dask extra is part of the test extra")
    from civictext.batch import tag_dask

    local = tmp_path / "local.jsonl"
    s_local = tag([str(archive)], local, entities=True, chunk_size=3)
    s_dask = tag_dask([str(archive)], tmp_path / "dask", entities=True, chunk_size=3, n_workers=2)
    parts = sorted((tmp_path / "dask").glob("part-*.jsonl"))
    dask_records = [json.loads(x) for p in parts for x in p.read_text(encoding="utf-8").splitlines()]
    assert dask_records == _records(local)
    errors = sorted((tmp_path / "dask").glob("errors-*.jsonl"))
    assert sum(len(p.read_text(encoding="utf-8").splitlines()) for p in errors) == s_dask.rejected
    assert (s_dask.read, s_dask.written, s_dask.rejected) == (s_local.read, s_local.written, s_local.rejected)
    with pytest.raises(InputError, match="already holds partitions"):
        tag_dask([str(archive)], tmp_path / "dask")


def test_progress_callbacks_and_estimated_total(archive: Path, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    totals: list[int] = []
    s = tag([str(archive)], tmp_path / "o.jsonl", entities=False, chunk_size=2,
            progress=lambda r, w, t: seen.append((r, w)), on_total=totals.append)  # fmt: skip
    assert totals and totals[0] >= 10
    assert seen[-1] == (s.read, s.written) and [r for r, _ in seen] == sorted(r for r, _ in seen)


def test_progress_bar_on_a_terminal(archive: Path, tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    if shutil.which("script") is None:
        pytest.skip("needs util-linux `script` to give the command a terminal")
    cmd = f"{sys.executable} -m civictext tag {archive} --out {tmp_path / 't.jsonl'} --workers 1 --no-entities"
    proc = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout
    assert "rec/s" in proc.stdout or "rec]" in proc.stdout  # tqdm's bar with throughput
    assert "records read" in proc.stdout
