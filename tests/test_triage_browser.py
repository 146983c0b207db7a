"""The triage page end to end: a real service, a real SQLite file, Debian's Chromium driven by Playwright."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .servers import free_port, missing, start_service, stop

httpx = pytest.importorskip("httpx", reason="the service extra is part of the test extra")

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

#: Every case needs review: the point is the queue, not the model's confidence.
ROUTES = """
[defaults]
office = "hotline_office"
review_threshold = 0.999

[[rule]]
id = "water"
category = "water_supply"
office = "water_company"

[[rule]]
id = "mediation"
category = "mediation"
office = "justice_bureau"

[[rule]]
id = "property"
category = "property_management"
office = "housing_bureau"
"""

WATER = "株洲市芦淞区锦绣江山小区停水三天了，联系电话13807331234"
EVIL = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> 楼上漏水泡了我家天花板'
ASTRAL = "𠀋𠀋家门口，长沙市岳麓区桃子湖路的路灯坏了半个月"


def _chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if path is None:
        missing("Chromium (Debian package chromium)", "the triage page test drives a headless browser")
    return str(path)


@pytest.fixture()
def service(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    routes = tmp_path / "routes.toml"
    routes.write_text(ROUTES, encoding="utf-8")
    db, port = tmp_path / "cases.db", free_port()
    proc = start_service(db, port, token="t0ken", extra=["--routes", str(routes)])
    try:
        yield f"http://127.0.0.1:{port}", db
    finally:
        stop(proc)


def _case(base: str, cid: int) -> dict[str, Any]:
    r = httpx.get(f"{base}/cases/{cid}")
    assert r.status_code == 200
    return dict(r.json())


def test_triage_page_confirm_and_correct_in_chromium(service: tuple[str, Path], tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is part of the test extra")
    chromium = _chromium()
    base, db = service
    ids = {}
    for name, text in (("water", WATER), ("evil", EVIL), ("astral", ASTRAL)):
        r = httpx.post(f"{base}/cases", json={"text": text})
        assert r.status_code == 201 and r.json()["needs_review"]
        ids[name] = r.json()["id"]
    astral_case = _case(base, ids["astral"])
    place = next(e for e in astral_case["analysis"]["entities"] if e["type"] == "DISTRICT")
    assert ASTRAL[place["start"] : place["end"]] == place["text"]
    second = astral_case["analysis"]["labels"][1]["label"]
    offices = httpx.get(f"{base}/offices").json()

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{base}/triage?refresh=1")
        page.wait_for_selector("body[data-loaded='1']", timeout=30_000)

        cards = page.locator("#queue article")
        assert cards.count() == 3
        assert page.locator("#count").inner_text() == "（3）"
        card = {k: page.locator(f"article[data-case-id='{v}']") for k, v in ids.items()}

        # the queue follows the database: a new case comes in, one reviewed elsewhere goes
        late = httpx.post(f"{base}/cases", json={"text": "岳麓区麓山南路的井盖丢了，晚上很危险"}).json()
        page.locator(f"article[data-case-id='{late['id']}']").wait_for(timeout=15_000)
        assert page.locator("#count").inner_text() == "（4）"
        r = httpx.post(f"{base}/cases/{late['id']}/review", json={"decision": "confirm", "by": "调度员李强"},
                       headers={"Authorization": "Bearer t0ken"})  # fmt: skip
        assert r.status_code == 201
        page.locator(f"article[data-case-id='{late['id']}']").wait_for(state="detached", timeout=15_000)
        assert cards.count() == 3

        # text that looks like markup is shown as typed and never runs
        assert card["evil"].locator(".text").text_content() == EVIL
        assert page.evaluate("window.__pwned") is None and dialogs == []
        assert page.locator("#queue img, #queue script").count() == 0

        # entities highlighted at their offsets, also after characters outside the BMP
        marks = card["water"].locator("mark")
        found = {(marks.nth(i).get_attribute("class"), marks.nth(i).inner_text()) for i in range(marks.count())}
        assert ("ent-DISTRICT", "芦淞区") in found and ("ent-PHONE", "13807331234") in found
        assert place["text"] in card["astral"].locator("mark.ent-DISTRICT").all_inner_texts()
        assert card["astral"].locator(".text").text_content() == ASTRAL

        # the model's top categories with their scores
        chips = card["water"].locator(".categories button")
        top3 = _case(base, ids["water"])["analysis"]["labels"][:3]
        assert [chips.nth(i).get_attribute("data-category") for i in range(chips.count())] == [x["label"] for x in top3]
        assert [chips.nth(i).inner_text() for i in range(3)] == [f"{x['name']} {x['score']:.2f}" for x in top3]

        # without the token nothing is stored, and the page says why
        page.fill("#by", "调度员王芳")
        page.dispatch_event("#by", "change")
        card["water"].locator("button.confirm").click()
        page.wait_for_selector("#status.error")
        assert "令牌" in page.locator("#status").inner_text()
        assert _case(base, ids["water"])["reviewed"] is None and cards.count() == 3

        # one click confirms
        page.fill("#token", "t0ken")
        page.dispatch_event("#token", "change")
        card["water"].locator("button.confirm").click()
        card["water"].wait_for(state="detached", timeout=10_000)
        water = _case(base, ids["water"])
        assert water["reviewed"]["by"] == "调度员王芳"
        assert [(k["kind"], k["category"], k["office"]) for k in water["corrections"]] == [
            ("confirm", water["category"], water["office"])
        ]

        # one click on another of the model's categories corrects to it, with that category's office
        card["astral"].locator(f".categories button[data-category='{second}']").click()
        card["astral"].wait_for(state="detached", timeout=10_000)
        astral = _case(base, ids["astral"])
        assert astral["category"] == astral_case["category"], "the original decision is kept"
        want_office = offices["category_offices"].get(second, offices["default_office"])
        assert [(k["kind"], k["category"], k["office"]) for k in astral["corrections"]] == [
            ("correct", second, want_office)
        ]

        # or pick any category; its office follows, and one click stores both
        card["evil"].locator("select.category").select_option("property_management")
        assert card["evil"].locator("select.office").input_value() == "housing_bureau"
        card["evil"].locator("button.correct").click()
        card["evil"].wait_for(state="detached", timeout=10_000)
        evil = _case(base, ids["evil"])
        assert evil["text"] == EVIL
        assert [(k["category"], k["office"]) for k in evil["corrections"]] == [
            ("property_management", "housing_bureau")
        ]

        assert "没有待审核的工单" in page.locator("#queue").inner_text()
        page.screenshot(path=str(tmp_path / "triage-empty.png"))
        page.reload()
        page.wait_for_selector("body[data-loaded='1']", timeout=30_000)
        assert page.locator("#queue article").count() == 0, "reviews are stored, not just hidden"
        browser.close()

    # a second review of the same case is refused, naming who did it
    r = httpx.post(f"{base}/cases/{ids['water']}/review", json={"decision": "confirm", "by": "x"},
                   headers={"Authorization": "Bearer t0ken"})  # fmt: skip
    assert r.status_code == 409 and "调度员王芳" in r.json()["detail"]

    out = tmp_path / "feedback.jsonl"
    res = subprocess.run([sys.executable, "-m", "civictext", "feedback", "export", "--db", str(db), "--out", str(out)],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert res.returncode == 0, res.stderr
    rows = {r["id"]: r["label"] for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert rows.pop(f"case-{late['id']}") == late["category"]
    assert rows == {
        f"case-{ids['water']}": water["category"],
        f"case-{ids['astral']}": second,
        f"case-{ids['evil']}": "property_management",
    }
