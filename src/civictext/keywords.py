"""Keyword extraction over our segmenter: TF-IDF with an IDF fitted on a corpus, and TextRank.

Both use :class:`~civictext.segment.Segmenter` (never jieba's global tokenizer, #290).
Candidates are tokens of two or more characters that are not stop words, digits or
punctuation; TextRank keeps nouns, place/organisation names, verbal nouns and verbs (POS).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .normalize import normalize
from .segment import Segmenter

_STOP = set(
    "的 了 和 是 就 都 而 及 与 着 或 一个 没有 我们 你们 他们 她们 它们 自己 这个 那个 这些 那些 "
    "什么 怎么 为什么 因为 所以 但是 如果 已经 还是 可以 不是 还有 一下 一些 这样 那样 现在 今天 "
    "昨天 目前 相关 有关 进行 表示 认为 问题 情况 工作 "
    "希望 反映 能够 需要 要求 通过 对于 其中 以及 并且 或者 同时 之后 之前 以来 一直 非常 特别 比较 尤其 一样".split()
)
_KEEP_POS = ("n", "nr", "ns", "nt", "nz", "vn", "v", "l")
_CONTENT = re.compile(r"[\u4e00-\u9fffA-Za-z]")


@dataclass(frozen=True)
class Keyword:
    word: str
    score: float


def _candidates(tokens: Iterable[str]) -> list[str]:
    return [t for t in tokens if len(t) >= 2 and t not in _STOP and _CONTENT.search(t) and not t.isdigit()]


class KeywordExtractor:
    """TF-IDF and TextRank keywords; fit the IDF on a corpus with :meth:`fit`."""

    def __init__(self, segmenter: Segmenter | None = None) -> None:
        self.segmenter = segmenter or Segmenter()
        self.idf_: dict[str, float] = {}
        self.default_idf_ = 0.0

    def fit(self, texts: Sequence[str]) -> KeywordExtractor:
        df: Counter[str] = Counter()
        for t in texts:
            df.update(set(_candidates(self.segmenter.cut(normalize(t)))))
        n = len(texts)
        self.idf_ = {w: math.log((1 + n) / (1 + c)) + 1 for w, c in df.items()}
        self.default_idf_ = math.log(1 + n) + 1  # unseen words: as rare as can be
        return self

    def tfidf(self, text: str, *, top: int = 10) -> list[Keyword]:
        tokens = _candidates(self.segmenter.cut(normalize(text)))
        if not tokens:
            return []
        tf = Counter(tokens)
        scores = {w: c / len(tokens) * self.idf_.get(w, self.default_idf_) for w, c in tf.items()}
        return [Keyword(w, round(s, 4)) for w, s in sorted(scores.items(), key=lambda x: (-x[1], x[0]))[:top]]

    def textrank(
        self, text: str, *, top: int = 10, window: int = 5, iterations: int = 30, damping: float = 0.85
    ) -> list[Keyword]:
        tagged = [(w, flag) for w, flag in self.segmenter.tag(normalize(text))]
        words = [w for w, flag in tagged if flag.startswith(_KEEP_POS) and _candidates([w])]
        if not words:
            return []
        graph: dict[str, Counter[str]] = defaultdict(Counter)
        for i, w in enumerate(words):
            for u in words[i + 1 : i + window]:
                if u != w:
                    graph[w][u] += 1
                    graph[u][w] += 1
        nodes = sorted(set(words))
        rank = dict.fromkeys(nodes, 1.0)
        out_weight = {w: sum(graph[w].values()) or 1.0 for w in nodes}
        for _ in range(iterations):
            rank = {
                w: (1 - damping) + damping * sum(rank[u] * c / out_weight[u] for u, c in graph[w].items())
                for w in nodes
            }
        peak = max(rank.values())
        ordered = sorted(rank.items(), key=lambda x: (-x[1], x[0]))[:top]
        return [Keyword(w, round(s / peak, 4)) for w, s in ordered]
