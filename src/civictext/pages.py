"""Split a newspaper page (plain text, as archives hand it over) into articles.

A page interleaves articles, repeats paragraphs for the layout, and mixes in photo
captions, bylines, editor's notes, page headers and listings (cinema times, lottery
draws). :func:`split_page` recognises each paragraph's role with rules written for Chinese
city dailies, then groups paragraphs into items:

- an **article** starts at a headline (one or more short lines without sentence-final
  punctuation) followed by a byline or dateline (本报讯, 记者/, 通讯员, 全媒体记者…);
  headlines not followed by a byline are sub-headings of the current article;
- a **listing** is a run of schedule or draw lines (times, 期, 开奖…) with its heading;
  listings are tagged ``other`` downstream;
- photo captions (…摄) and editor's notes (编者按) are kept on their article with their role;
- a paragraph repeated by the layout (the same text, or a pull-quote contained in an
  earlier paragraph) is folded: kept once, the repeat recorded under ``folded``;
- a continuation marker (上接第一栏…) sends the paragraph back to the first article.

Every paragraph keeps its character offsets ``[start, end)`` in the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["header", "headline", "byline", "caption", "editor_note", "listing", "body", "continuation"]

_BYLINE = re.compile(
    r"^(?:本报讯|据新华社|新华社|.{0,8}?日报(?:全媒体)?(?:记者|[(（])|(?:全媒体)?记者\s*[/／ ]|通讯员\s*[/／ ]|"
    r"(?:本报|本台)?(?:特约)?记者[\u4e00-\u9fa5]{2,4}\s*(?:通讯员|报道|摄))"
)
_INLINE_BYLINE_END = re.compile(r"^(.{4,60}?[)）])\s*(.+)$", re.S)
_CAPTION_CREDIT = re.compile(r"(?:记者|通讯员|摄影)?\s*[\u4e00-\u9fa5/／ ]{0,12}\s*摄$")
_HEADER = re.compile(
    r"^(?:.{2,6}日报|.{2,6}晚报|\d{4}年\d{1,2}月\d{1,2}日.{0,6}|第\s*\d+\s*版.*|责任编辑.*|.*版面编辑.*)$"
)
_LISTING = re.compile(
    r"(?:\d{1,2}[:：]\d{2}.*\d{1,2}[:：]\d{2})|开奖|中奖号码|双色球|大乐透|福彩|体彩|排列[35]|七乐彩|第\s*\d{5,}\s*期"
)
_LISTING_HEAD = re.compile(r"影讯|影院|影城|排片|节目表|彩票|开奖|天气预报")
_CONTINUATION = re.compile(r"^[(（]\s*上接第?([一二三四五六七八九十\d]+)[栏版]?\s*[)）]")
_SENTENCE_END = tuple("。！？!?；;…")


@dataclass(frozen=True)
class Paragraph:
    start: int
    end: int
    role: Role

    def to_dict(self, page: str) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "role": self.role}


@dataclass
class PageItem:
    """One article or listing of a page."""

    index: int
    kind: Literal["article", "listing"]
    paragraphs: list[Paragraph] = field(default_factory=list)
    folded: list[tuple[int, int]] = field(default_factory=list)

    def text(self, page: str) -> str:
        """Headline(s), editor's note and body, one paragraph a line (bylines, captions excluded)."""
        keep = ("headline", "editor_note", "body", "continuation", "listing")
        return "\n".join(page[p.start : p.end] for p in self.paragraphs if p.role in keep)

    def title(self, page: str) -> str:
        heads = [page[p.start : p.end] for p in self.paragraphs if p.role == "headline"]
        return " ".join(heads)

    def bylines(self, page: str) -> list[str]:
        return [page[p.start : p.end] for p in self.paragraphs if p.role == "byline"]

    def to_dict(self, page: str) -> dict[str, Any]:
        return {
            "article_index": self.index,
            "kind": self.kind,
            "title": self.title(page),
            "bylines": self.bylines(page),
            "paragraphs": [p.to_dict(page) for p in self.paragraphs],
            "folded": [list(f) for f in self.folded],
        }


def _lines(page: str) -> list[tuple[int, int]]:
    """(start, end) of every non-blank line, stripped of surrounding whitespace."""
    out = []
    pos = 0
    for raw in page.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        stripped = body.strip()
        if stripped:
            lead = len(body) - len(body.lstrip())
            out.append((pos + lead, pos + lead + len(stripped)))
        pos += len(raw)
    return out


def _role(text: str, position: int) -> Role:
    if text.startswith(("【编者按】", "编者按", "[编者按]")):
        return "editor_note"
    if _CONTINUATION.match(text):
        return "continuation"
    if len(text) <= 40 and _CAPTION_CREDIT.search(text) and text.endswith("摄"):
        return "caption"
    if text.endswith("摄") and ("（左" in text or "(左" in text or "图为" in text or len(text) <= 120):
        return "caption"
    if _BYLINE.match(text) and (len(text) <= 60 or _INLINE_BYLINE_END.match(text)):
        return "byline"
    if position < 6 and len(text) <= 30 and _HEADER.match(text):
        return "header"
    if _LISTING.search(text) and len(text) <= 80:
        return "listing"
    if len(text) <= 32 and not text.endswith(_SENTENCE_END):
        return "headline"
    return "body"


def _classify(page: str) -> list[Paragraph]:
    paras: list[Paragraph] = []
    for i, (s, e) in enumerate(_lines(page)):
        text = page[s:e]
        role = _role(text, i)
        if role == "byline":
            m = _INLINE_BYLINE_END.match(text)
            # "株洲日报(全媒体记者/李逸峰 通讯员/谷月英) 近日，……": byline then body on one line
            if m and len(m.group(2)) > 20 and ("记者" in m.group(1) or "通讯员" in m.group(1)):
                cut = s + len(m.group(1))
                body_start = s + text.index(m.group(2), len(m.group(1)))
                paras.append(Paragraph(s, cut, "byline"))
                paras.append(Paragraph(body_start, e, "body"))
                continue
        paras.append(Paragraph(s, e, role))
    # A caption's credit line (记者/XX 摄) makes the line before it a caption too.
    for i, p in enumerate(paras):
        if p.role == "caption" and i > 0 and len(page[p.start : p.end]) <= 20 and paras[i - 1].role == "body":
            paras[i - 1] = Paragraph(paras[i - 1].start, paras[i - 1].end, "caption")
    return paras


def _starts_article(paras: list[Paragraph], i: int) -> bool:
    """A headline run at i followed, within the next few paragraphs, by a byline."""
    j = i
    while j < len(paras) and paras[j].role == "headline":
        j += 1
    for k in range(j, min(j + 3, len(paras))):
        if paras[k].role == "byline":
            return True
        if paras[k].role not in ("caption", "editor_note"):
            return False
    return False


def split_page(page: str) -> list[PageItem]:
    """Articles and listings of a page, in page order; see the module docstring.

    Examples
    --------
    >>> page = "小区停水\\n本报讯（记者 王磊）昨日，某小区停水。\\n水务集团连夜抢修。"
    >>> [(it.kind, it.title(page)) for it in split_page(page)]
    [('article', '小区停水')]
    """
    paras = _classify(page)
    items: list[PageItem] = []
    seen: list[str] = []
    current: PageItem | None = None
    pending_note: list[Paragraph] = []
    i = 0
    while i < len(paras):
        p = paras[i]
        text = page[p.start : p.end]
        if p.role == "header":
            i += 1
            continue
        if p.role == "editor_note":
            pending_note.append(p)
            i += 1
            continue
        # fold paragraphs repeated by the layout (whole repeats and pull-quotes)
        if p.role in ("body", "headline") and (
            (len(text) >= 4 and text in seen) or (len(text) >= 10 and any(text in s for s in seen))
        ):
            if current is not None:
                current.folded.append((p.start, p.end))
            elif items:
                items[-1].folded.append((p.start, p.end))
            i += 1
            continue
        if p.role == "headline" and _starts_article(paras, i):
            current = PageItem(len(items), "article", list(pending_note))
            pending_note = []
            items.append(current)
            while i < len(paras) and paras[i].role == "headline":
                current.paragraphs.append(paras[i])
                seen.append(page[paras[i].start : paras[i].end])
                i += 1
            continue
        if p.role == "listing" or (p.role == "headline" and _LISTING_HEAD.search(text)):
            listing = PageItem(len(items), "listing")
            items.append(listing)
            while i < len(paras) and (
                paras[i].role == "listing"
                or (paras[i].role in ("headline", "body") and len(page[paras[i].start : paras[i].end]) <= 40
                    and not _starts_article(paras, i))
            ):  # fmt: skip
                q = paras[i]
                listing.paragraphs.append(Paragraph(q.start, q.end, "listing"))
                i += 1
            current = None
            continue
        if p.role == "continuation":
            m = _CONTINUATION.match(text)
            target = (
                items[0] if (m and m.group(1) in ("一", "1") and items) else (current or (items[-1] if items else None))
            )
            if target is not None:
                target.paragraphs.append(p)
                seen.append(text)
                i += 1
                continue
        if current is None:
            current = PageItem(len(items), "article", list(pending_note))
            pending_note = []
            items.append(current)
        current.paragraphs.append(p)
        if p.role in ("body", "headline"):
            seen.append(text)
        i += 1
    for item in items:
        item.paragraphs.sort(key=lambda q: q.start)
    return [it for it in items if it.text(page).strip()]
