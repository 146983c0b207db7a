"""Drive the CLI through typer's CliRunner and, for stdin bytes and start-up, a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from civictext.cli import app

runner = CliRunner()
ISSUE_EXAMPLE = "小区三号楼停水两天了,物业也不管,希望水务集团尽快处理"


def run(*args: str, input: str | bytes | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def test_classify_the_issue_example_with_the_default_model() -> None:
    code, out, _ = run("classify", ISSUE_EXAMPLE)
    assert code == 0
    assert "water_supply" in out.splitlines()[0]
    assert "confidence" in out and "candidates:" in out


def test_classify_json(default_model_dir: Path) -> None:
    code, out, _ = run("classify", ISSUE_EXAMPLE, "--json", "--model", str(default_model_dir))
    assert code == 0
    rec = json.loads(out)
    assert rec["category"] == "water_supply" and rec["category_name"] == "供水"
    assert 0 < rec["confidence"] <= 1
    assert rec["labels"][0]["label"] == "water_supply"
    assert [x["score"] for x in rec["labels"]] == sorted((x["score"] for x in rec["labels"]), reverse=True)
    assert rec["entities"] == [] and rec["route"] is None and rec["model"]["version"].startswith("default@")


def test_stdin_plain_lines_one_record_each_in_order() -> None:
    code, out, err = run("classify", "-", input="自来水发黄有异味\n\n托育机构收费太高了\n")
    lines = [json.loads(x) for x in out.splitlines()]
    assert code == 0 and len(lines) == 3
    assert "error" not in lines[0] and "error" in lines[1] and "error" not in lines[2]
    assert "line 2" in lines[1]["error"]["message"] and "empty" in lines[1]["error"]["message"]
    assert "3 records read, 2 classified, 1 rejected" in err


def test_stdin_jsonl_echoes_ids_and_keeps_newlines_inside_text() -> None:
    rows = [
        {"id": "c-1", "text": "停水三天了\n还没来水"},
        {"id": "c-2", "text": ""},
        {"text": "孩子入学学位不够"},
        {"id": 4, "text": 42},
    ]
    payload = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n{bad json\n"
    code, out, err = run("classify", "-", "--jsonl", input=payload)
    lines = [json.loads(x) for x in out.splitlines()]
    assert code == 0
    assert [x.get("id") for x in lines] == ["c-1", "c-2", None, "4", None]
    assert lines[0]["category"] and "error" in lines[1] and lines[2]["category"]
    assert "must be a string" in lines[3]["error"]["message"]
    assert lines[4]["error"]["code"] == "E_JSON" and lines[4]["line"] == 5
    assert "5 records read, 2 classified, 3 rejected" in err


def test_strict_stops_with_exit_code_2() -> None:
    code, out, err = run("classify", "-", "--jsonl", "--strict", input='{"text": "停水"}\n{"text": ""}\n')
    assert code == 2
    assert "line 2" in err and "--strict" in err


def test_non_utf8_stdin_rejects_only_that_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "civictext", "classify", "-"],
        input="停水了\n".encode() + b"\xff\xfe\xfd bad\n" + "托育收费\n".encode(),
        capture_output=True,
        timeout=120,
    )
    lines = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    assert proc.returncode == 0 and len(lines) == 3
    assert lines[1]["error"]["code"] == "E_ENCODING" and "UTF-8" in lines[1]["error"]["message"]
    assert "Traceback" not in proc.stderr.decode()


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "empty text"), ("   \n\t", "empty text"), ("停" * 1_000_001, "limit is 1,000,000")],
)
def test_bad_single_texts_exit_2_without_traceback(text: str, problem: str) -> None:
    code, out, err = run("classify", text)
    assert code == 2 and problem in err and "Traceback" not in err


def test_a_one_megabyte_text_and_control_characters_are_classified() -> None:
    big = ("小区停水了物业不管水务集团也不来人。" * 20000)[:350_000]  # about 1 MB of UTF-8
    assert len(big.encode()) > 1_000_000
    code, out, _ = run("classify", big, "--json")
    assert code == 0 and json.loads(out)["category"] == "water_supply"
    code, out, _ = run("classify", "停水\x00\x07了\x1b[31m三天", "--json")
    assert code == 0 and json.loads(out)["category"]


def test_missing_and_corrupt_model_dirs(tmp_path: Path) -> None:
    code, _, err = run("classify", "停水", "--model", str(tmp_path / "nope"))
    assert code == 2 and "model directory not found" in err
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "meta.json").write_text("garbage", encoding="utf-8")
    code, _, err = run("classify", "停水", "--model", str(tmp_path / "broken"))
    assert code == 2 and "corrupt" in err and "Traceback" not in err


def test_train_then_evaluate(tmp_path: Path, small_train_file: Path, small_dev_file: Path) -> None:
    bad = tmp_path / "with_bad.jsonl"
    bad.write_text(small_train_file.read_text(encoding="utf-8") + "{broken\n", encoding="utf-8")
    out_dir = tmp_path / "m"
    code, out, err = run("train", "--data", str(bad), "--out", str(out_dir), "--dev", str(small_dev_file))
    assert code == 0, err
    assert "1 rejected" in err and "with_bad.jsonl" in err and (out_dir / "meta.json").is_file()
    meta = json.loads((out_dir / "meta.json").read_text(encoding="utf-8"))
    assert meta["training"]["rejected"] == 1 and "metrics" in meta["dev"]
    code, out, err = run("evaluate", "--model", str(out_dir), "--data", str(small_dev_file), "--json")
    assert code == 0, err
    metrics = json.loads(out)
    assert {"accuracy", "macro_f1", "micro_f1", "per_class", "n"} <= set(metrics)
    assert metrics["accuracy"] == pytest.approx(meta["dev"]["metrics"]["accuracy"])
    code, out, _ = run("evaluate", "--model", str(out_dir), "--data", str(small_dev_file))
    assert code == 0 and "macro_f1" in out and "precision" in out
    code, out, _ = run("classify", "自来水发黄", "--model", str(out_dir), "--json")
    assert code == 0 and json.loads(out)["model"]["name"] == "m"


def test_train_strict_fails_on_a_bad_line(tmp_path: Path, small_train_file: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x"}\n' + small_train_file.read_text(encoding="utf-8"), encoding="utf-8")
    code, _, err = run("train", "--data", str(bad), "--out", str(tmp_path / "m"), "--strict")
    assert code == 2 and "bad.jsonl:1" in err


def test_train_rejects_unknown_options() -> None:
    code, _, err = run("train", "--data", "x.jsonl", "--out", "m", "--task", "dance")
    assert code == 2 and "--task" in err


def test_segment(tmp_path: Path) -> None:
    code, out, _ = run("segment", "小区二次供水停水了")
    assert code == 0 and out.strip() == "小区 / 二次供水 / 停水 / 了"
    code, out, _ = run("segment", "小区二次供水", "--json", "--backend", "jieba")
    data = json.loads(out)
    assert data["backend"] == "jieba" and data["tokens"][1] == {"text": "二次供水", "start": 2, "end": 6}
    code, out, _ = run("segment", "水务集团停水", "--pos")
    assert code == 0 and "水务集团/nt" in out


def test_analyze_examples() -> None:
    root = Path(__file__).resolve().parents[2]
    code, out, err = run(
        "analyze", str(root / "examples" / "complaint.txt"), str(root / "examples" / "newspaper-page.txt")
    )
    assert code == 0, err
    assert out.count("== ") == 2 and "water_supply" in out
    assert "2 files read, 2 analysed, 0 rejected" in err


def test_analyze_reports_unreadable_files(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("自来水停了三天", encoding="utf-8")
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes("自来水停了".encode("gbk"))
    code, out, err = run("analyze", str(good), str(gbk), str(tmp_path / "missing.txt"), "--json")
    lines = [json.loads(x) for x in out.splitlines()]
    assert code == 0 and len(lines) == 3
    assert "category" in lines[0] and lines[1]["error"]["code"] == "E_ENCODING" and lines[2]["error"]["code"] == "E_IO"
    assert "3 files read, 1 analysed, 2 rejected" in err


def test_extract_text_and_json() -> None:
    text = "株洲市芦淞区锦绣江山小区停水，刘女士电话138****5621"
    code, out, _ = run("extract", text)
    assert code == 0 and "芦淞区" in out and "湖南省 › 株洲市 › 芦淞区" in out
    code, out, _ = run("extract", text, "--json")
    ents = json.loads(out)["entities"]
    assert all(text[e["start"] : e["end"]] == e["text"] for e in ents)
    assert {"type": "PHONE", "text": "138****5621"}.items() <= next(e for e in ents if e["type"] == "PHONE").items()


def test_classify_carries_the_same_entities_as_extract() -> None:
    code, out, _ = run("classify", ISSUE_EXAMPLE + "，联系人刘女士", "--json")
    classified = json.loads(out)["entities"]
    code2, out2, _ = run("extract", ISSUE_EXAMPLE + "，联系人刘女士", "--json")
    assert code == code2 == 0 and classified == json.loads(out2)["entities"] and classified
    code, out, _ = run("classify", ISSUE_EXAMPLE, "--json", "--no-entities")
    assert json.loads(out)["entities"] == []


def test_extract_stdin_jsonl_keeps_ids_order_and_rejects() -> None:
    payload = '{"id": "a", "text": "长春市朝阳区停水"}\n{"id": "b", "text": ""}\nnot json\n{"text": "曹主任说"}\n'
    code, out, err = run("extract", "-", "--jsonl", input=payload)
    lines = [json.loads(x) for x in out.splitlines()]
    assert code == 0 and [x.get("id") for x in lines] == ["a", "b", None, None]
    assert "entities" in lines[0] and "error" in lines[1] and "error" in lines[2] and lines[3]["entities"]
    assert "4 records read, 2 extracted, 2 rejected" in err


def test_train_and_evaluate_entities(tmp_path: Path) -> None:
    from tests.conftest import corpus_records

    rows = [{"text": r["text"], "entities": r["entities"]} for r in corpus_records()[:80] if r.get("entities")]
    data = tmp_path / "ents.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n{bad\n", encoding="utf-8")
    code, out, err = run(
        "train", "--task", "entities", "--data", str(data), "--out", str(tmp_path / "m"), "--epochs", "1"
    )
    assert code == 0, err
    assert (tmp_path / "m" / "entities" / "config.cfg").is_file() and "1 rejected" in err
    code, out, err = run(
        "evaluate", "--task", "entities", "--model", str(tmp_path / "m"), "--data", str(data), "--json"
    )
    assert code == 0, err
    metrics = json.loads(out)
    assert set(metrics["per_type"]) == {"DISTRICT", "ORG", "PERSON", "PHONE"} and metrics["n"] == len(rows)
    code, out, _ = run("extract", "株洲市芦淞区停水", "--model", str(tmp_path / "m"), "--json")
    assert code == 0 and json.loads(out)["entities"]
