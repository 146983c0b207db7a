"""Entity extraction: the only module that imports spaCy.

The pipeline is ``spacy.blank("zh")`` with our registered tokenizer
(``civictext.JiebaTokenizer.v1``, over :class:`~civictext.segment.Segmenter`, never
spaCy's built-in jieba mode), a statistical ``ner`` component trained by us, and a
``span_ruler`` fed from the administrative-division gazetteer. Character-level patterns
(phone numbers, surname + title, anonymised places such as ``A3区``) run on the
normalized text. All candidates are merged deterministically: the longest span wins and,
at equal length, a rule outranks the model.

Offsets always index the caller's original string: normalization is length-preserving
and the Doc is built from slices of the original text.

Types: ``DISTRICT``, ``ORG``, ``PERSON``, ``PHONE``.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import minibatch, registry
from thinc.api import fix_random_seed

from .errors import ArtifactError, InputError
from .gazetteer import AdminGazetteer, OfficeTable, load_admin_gazetteer, load_offices
from .normalize import normalize
from .record import Entity
from .segment import Segmenter

ENTITY_TYPES = ("DISTRICT", "ORG", "PERSON", "PHONE")
#: CLUENER types mapped to ours (others are ignored).
CLUENER_MAP = {
    "address": "DISTRICT",
    "government": "ORG",
    "organization": "ORG",
    "company": "ORG",
    "name": "PERSON",
    # People's Daily NER, stored in the CLUENER shape
    "LOC": "DISTRICT",
    "ORG": "ORG",
    "PER": "PERSON",
}
ENTITY_DIR = "entities"

# -- tokenizer -------------------------------------------------------------------------------


class JiebaSpacyTokenizer:
    """spaCy tokenizer over our Segmenter: tokens are slices of the original text, norms normalized."""

    def __init__(self, vocab: Any, segmenter: Segmenter) -> None:
        self.vocab = vocab
        self.segmenter = segmenter

    def __call__(self, text: str) -> Doc:
        norm = normalize(text)
        toks = self.segmenter.tokenize(norm)
        words = [text[t.start : t.end] for t in toks]
        doc = Doc(self.vocab, words=words, spaces=[False] * len(words))
        for tok, t in zip(doc, toks, strict=True):
            tok.norm_ = t.text
        return doc

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterable[Doc]:
        for text in texts:
            yield self(text)

    # The segmenter is fully described by the config; nothing else needs saving.
    def to_bytes(self, **kwargs: Any) -> bytes:
        return b"{}"

    def from_bytes(self, data: bytes, **kwargs: Any) -> JiebaSpacyTokenizer:
        return self

    def to_disk(self, path: str | Path, **kwargs: Any) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)
        (Path(path) / "civictext.json").write_text(json.dumps(self._params()), encoding="utf-8")

    def from_disk(self, path: str | Path, **kwargs: Any) -> JiebaSpacyTokenizer:
        return self

    def _params(self) -> dict[str, Any]:
        return {"backend": self.segmenter.backend, "hmm": self.segmenter.hmm}


@registry.tokenizers("civictext.JiebaTokenizer.v1")  # type: ignore[untyped-decorator]
def create_jieba_tokenizer(backend: str = "auto", hmm: bool = False) -> Callable[[Language], JiebaSpacyTokenizer]:
    """Registered tokenizer factory: ``[nlp.tokenizer] @tokenizers = "civictext.JiebaTokenizer.v1"``."""

    def make(nlp: Language) -> JiebaSpacyTokenizer:
        return JiebaSpacyTokenizer(nlp.vocab, Segmenter(backend=backend, hmm=hmm))  # type: ignore[arg-type]

    return make


def build_blank(*, backend: str = "auto", hmm: bool = False) -> Language:
    """``spacy.blank("zh")`` with our tokenizer and no components."""
    return spacy.blank(
        "zh",
        config={"nlp": {"tokenizer": {"@tokenizers": "civictext.JiebaTokenizer.v1", "backend": backend, "hmm": hmm}}},
    )


# -- character-level patterns ------------------------------------------------------------------

# Common surnames (facts), minus those that are mostly function words or word starts in running text
# (和, 于, 向, 时, 明, 查, 解, 单, 连, 全, 应, 司, 成, 管, 关, 包, 车, 古...), which made 和律师 a name.
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石"
    "廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳"
    "翟殷詹申欧耿兰焦俞左柳甘祝宁尚符舒阮柯纪梅童凌毕季裴霍涂苗谷盛曲翁冉骆蓝路游辛靳柴蒙鲍华喻祁蒲房滕屈饶牟艾尤阳穆农卓吉缪"
    "简项芦麻褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂佟臧闵苟邬边卞姬仇栾隋刁沙荣巫寇桑郎甄丛仲虞敖巩佘池麦苑迟邝"
)
_TITLES = (
    "女士|先生|小姐|师傅|阿姨|大爷|大妈|大姐|大哥|奶奶|爷爷|婆婆|主任|书记|局长|副局长|科长|处长|所长|站长|院长|校长|园长|经理|老师|医生|"
    "护士|律师|警官|同志|队长|村长|镇长|区长|市长|县长|厂长|老板|总经理|董事长"
)
# 老X / 小X nicknames only with common surnames that rarely start another word after 老/小.
_NICK_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾肖董袁潘蒋蔡余杜叶苏魏吕任沈"
    "姚卢姜崔钟谭汪范廖贾夏韦邹孟秦邱尹薛闫段雷侯龙陶黎贺顾毛郝龚邵严覃孔汤"
)
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    # masked or full mobiles, landlines (optionally masked), short hotlines
    ("PHONE", re.compile(r"(?<![\d*])1[3-9]\d(?:\d{4}|[*xX×]{4})\d{4}(?![\d*])")),
    ("PHONE", re.compile(r"(?<![\d*])0\d{2,3}-?\d{3,4}[\d*]{0,4}\*{0,4}(?![\d*])")),
    (
        "PHONE",
        re.compile(
            r"(?<![\d.])(?:12345|12315|12369|12319|12328|12333|12320|12348|12358|12366|12338|12356|95598|96\d{3}|10086|10010|10000)(?![\d.])"
        ),
    ),
    ("PHONE", re.compile(r"(?<![\d-])400-?\d{3,4}-?\d{3,4}(?![\d-])")),
    (
        "PHONE",
        re.compile(
            r"(?<![\d.])(?:110|119|120|122)(?![\d.元万米平个天人号户岁%年月日分秒吨斤块台辆次件份栋层楼室小时公里])"
        ),
    ),
    ("PERSON", re.compile(rf"[{_SURNAMES}](?:{_TITLES})")),
    ("PERSON", re.compile(rf"[老小][{_NICK_SURNAMES}](?![区市县镇村路街])")),
    ("DISTRICT", re.compile(r"(?<![A-Za-z0-9])[A-Za-z]\d{0,2}(?:省|市|区|县|镇|乡|村|街道|社区|小区)")),
]


def pattern_spans(norm: str) -> list[tuple[int, int, str]]:
    """(start, end, type) of every pattern match in normalized text."""
    out = []
    for label, pat in _PATTERNS:
        for m in pat.finditer(norm):
            out.append((m.start(), m.end(), label))
    return out


# -- merging and normalization -------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    label: str
    source: str  # "rule:gazetteer", "rule:pattern" or "model"

    @property
    def rank(self) -> tuple[int, int, int]:
        return (-(self.end - self.start), 0 if self.source.startswith("rule") else 1, self.start)


def merge_candidates(cands: Iterable[_Candidate]) -> list[_Candidate]:
    """Non-overlapping spans: longest first; at equal length rules before the model; then leftmost."""
    chosen: list[_Candidate] = []
    taken: set[int] = set()
    for c in sorted(set(cands), key=lambda c: (c.rank, c.label)):
        span = range(c.start, c.end)
        if c.end > c.start and not any(i in taken for i in span):
            chosen.append(c)
            taken.update(span)
    return sorted(chosen, key=lambda c: c.start)


_LEVEL_SUFFIXES = [
    ("compound", ("小区", "花园", "家园", "公寓", "苑", "府", "庭", "城", "新村", "大院")),
    ("community", ("社区",)),
    ("street", ("街道",)),
    ("town", ("镇", "乡")),
    ("village", ("村", "组")),
    ("road", ("路", "大道", "街", "巷", "道", "大街", "胡同")),
    ("county", ("区", "县", "旗")),
    ("prefecture", ("市", "州", "盟")),
    ("province", ("省",)),
]


def _guess_level(text: str) -> str | None:
    for level, sufs in _LEVEL_SUFFIXES:
        if text.endswith(sufs):
            return level
    return None


def normalize_districts(ents: list[Entity], gaz: AdminGazetteer) -> list[Entity]:
    """Attach full name, code and parent chain to divisions; resolve shared names from context."""
    cands = {e.text: gaz.lookup(e.text) for e in ents if e.type == "DISTRICT"}
    context: set[str] = set()
    for divs in cands.values():
        if len(divs) == 1:
            context.update(divs[0].chain_codes)
    out = []
    for e in ents:
        if e.type != "DISTRICT":
            out.append(e)
            continue
        divs = cands[e.text]
        norm: dict[str, Any]
        if len(divs) == 1:
            norm = divs[0].to_dict() | {"resolved_by": "unique"}
        elif len(divs) > 1:
            fitting = [d for d in divs if context & set(d.chain_codes[:-1])]
            if len(fitting) == 1:
                norm = fitting[0].to_dict() | {"resolved_by": "context"}
            else:
                norm = {
                    "ambiguous": True,
                    "candidates": [{"code": d.code, "chain": list(d.chain_names)} for d in divs],
                }
        else:
            level = _guess_level(e.text)
            norm = {"level": level} if level else {}
        out.append(Entity(e.type, e.text, e.start, e.end, e.source, norm or None))
    return out


def normalize_orgs(ents: list[Entity], offices: OfficeTable) -> list[Entity]:
    out = []
    for e in ents:
        if e.type == "ORG":
            office = offices.resolve(normalize(e.text))
            if office is not None:
                e = Entity(e.type, e.text, e.start, e.end, e.source, {"office": office.id, "office_name": office.name})
        out.append(e)
    return out


# -- the extractor -------------------------------------------------------------------------------


def add_gazetteer_ruler(nlp: Language, gaz: AdminGazetteer) -> None:
    ruler = nlp.add_pipe(
        "span_ruler",
        name="gazetteer_ruler",
        # ORTH: patterns are then made by the tokenizer alone (NORM would run the whole pipeline, NER
        # included, over 3,500 patterns at every load: 2 s).
        config={"spans_key": "gazetteer", "annotate_ents": False, "phrase_matcher_attr": "ORTH", "validate": False},
    )
    ruler.add_patterns([{"label": "DISTRICT", "pattern": name} for name in gaz.names()])  # type: ignore[attr-defined]


class EntityExtractor:
    """Extract entities with a spaCy pipeline (statistical NER when trained) plus gazetteer and pattern rules.

    Examples
    --------
    >>> ex = EntityExtractor.rules_only()  # doctest: +SKIP
    >>> [(e.type, e.text) for e in ex.extract("株洲市芦淞区刘女士电话138****5621")]  # doctest: +SKIP
    [('DISTRICT', '株洲市'), ('DISTRICT', '芦淞区'), ('PERSON', '刘女士'), ('PHONE', '138****5621')]
    """

    def __init__(self, nlp: Language, *, rules: bool = True) -> None:
        self.nlp = nlp
        self.rules = rules
        self.gazetteer = load_admin_gazetteer()
        self.offices = load_offices()
        if "gazetteer_ruler" not in nlp.pipe_names:
            add_gazetteer_ruler(nlp, self.gazetteer)
        self.has_model = "ner" in nlp.pipe_names

    @classmethod
    def rules_only(cls, *, backend: str = "auto", hmm: bool = False) -> EntityExtractor:
        return cls(build_blank(backend=backend, hmm=hmm))

    @classmethod
    def load(cls, path: str | Path, *, rules: bool = True) -> EntityExtractor:
        p = Path(path)
        if not (p / "config.cfg").is_file():
            raise ArtifactError(f"{p} is not a civictext entity model (config.cfg missing)")
        try:
            nlp = spacy.load(p)
        except Exception as exc:  # spaCy raises many kinds on corrupt directories
            raise ArtifactError(f"entity model {p} cannot be loaded ({type(exc).__name__}: {exc})") from None
        return cls(nlp, rules=rules)

    def _candidates(self, doc: Doc, norm: str) -> list[_Candidate]:
        cands = [_Candidate(e.start_char, e.end_char, e.label_, "model") for e in doc.ents]
        if not self.rules:
            return cands
        cands += [
            _Candidate(s.start_char, s.end_char, s.label_, "rule:gazetteer") for s in doc.spans.get("gazetteer", [])
        ]
        starts = {t.idx for t in doc}
        for s, e, lab in pattern_spans(norm):
            # a name pattern must start on a token boundary (施工, 文明同志 are not names)
            if lab != "PERSON" or s in starts:
                cands.append(_Candidate(s, e, lab, "rule:pattern"))
        return cands

    def extract_doc(self, text: str, doc: Doc) -> list[Entity]:
        merged = merge_candidates(self._candidates(doc, normalize(text)))
        ents = [Entity(c.label, text[c.start : c.end], c.start, c.end, c.source) for c in merged]
        return normalize_orgs(normalize_districts(ents, self.gazetteer), self.offices)

    def extract(self, text: str) -> list[Entity]:
        if not isinstance(text, str):
            raise InputError(f"text must be a string, got {type(text).__name__}")
        return self.extract_doc(text, self.nlp(text))

    def extract_many(self, texts: Sequence[str], *, batch_size: int = 64) -> list[list[Entity]]:
        return [self.extract_doc(t, d) for t, d in zip(texts, self.nlp.pipe(texts, batch_size=batch_size), strict=True)]


def load_extractor(model_dir: str | Path, *, rules: bool = True) -> EntityExtractor:
    """The extractor of a model directory: ``DIR/entities`` (trained by ``train --task entities``
    or scripts/train_default.py), ``DIR`` itself if it is a spaCy pipeline, else rules only."""
    d = Path(model_dir)
    if not d.is_dir():
        raise ArtifactError(f"model directory not found: {d}")
    if (d / ENTITY_DIR / "config.cfg").is_file():
        return EntityExtractor.load(d / ENTITY_DIR, rules=rules)
    if (d / "config.cfg").is_file():
        return EntityExtractor.load(d, rules=rules)
    if not rules:
        raise ArtifactError(f"{d} has no trained entity model, and rules are switched off")
    return EntityExtractor.rules_only()


# -- training ------------------------------------------------------------------------------------

Span = tuple[int, int, str]


@dataclass
class EntityExample:
    text: str
    spans: list[Span]
    id: str | None = None


def spans_from_surfaces(text: str, surfaces: Iterable[Sequence[str]]) -> list[Span]:
    """Every occurrence of each annotated surface, overlaps resolved longest-first."""
    cands = []
    for surface, label in surfaces:
        if not surface:
            continue
        start = text.find(surface)
        while start != -1:
            cands.append(_Candidate(start, start + len(surface), label, "rule:gold"))
            start = text.find(surface, start + 1)
    return [(c.start, c.end, c.label) for c in merge_candidates(cands)]


def read_entity_examples(path: str | Path, *, fmt: str = "auto") -> tuple[list[EntityExample], list[str]]:
    """Entity examples from our corpus format (``entities``: [[surface, TYPE], ...] or
    ``spans``: [[start, end, TYPE], ...]) or CLUENER (``label``: {type: {surface: [[s, e_incl]]}}).

    Returns the examples and the problems found (file:line: message); bad lines are skipped.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"data file not found: {p}")
    examples, problems = [], []
    with open(p, encoding="utf-8-sig") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                text = obj["text"]
                if not isinstance(text, str) or not text.strip():
                    raise ValueError("empty or non-string text")
                kind = fmt
                if kind == "auto":
                    kind = "cluener" if isinstance(obj.get("label"), dict) else "jsonl"
                if kind == "cluener":
                    spans = []
                    for ctype, mentions in (obj.get("label") or {}).items():
                        label = CLUENER_MAP.get(ctype)
                        if label is None:
                            continue
                        for surface, offsets in mentions.items():
                            for s, e in offsets:
                                if text[s : e + 1] != surface:
                                    raise ValueError(f"span {s}-{e} is not {surface!r}")
                                spans.append((s, e + 1, label))
                    spans = [
                        (c.start, c.end, c.label)
                        for c in merge_candidates(_Candidate(s, e, lab, "gold") for s, e, lab in spans)
                    ]
                elif "spans" in obj:
                    spans = [(int(s), int(e), str(lab)) for s, e, lab in obj["spans"]]
                else:
                    spans = spans_from_surfaces(text, obj.get("entities") or [])
                bad = [s for s in spans if s[2] not in ENTITY_TYPES or not 0 <= s[0] < s[1] <= len(text)]
                if bad:
                    raise ValueError(f"invalid spans {bad[:3]}")
            except (KeyError, ValueError, TypeError, json.JSONDecodeError) as exc:
                problems.append(f"{p}:{lineno}: {exc}")
                continue
            examples.append(EntityExample(text, spans, obj.get("id")))
    return examples, problems


def _to_examples(nlp: Language, data: Sequence[EntityExample]) -> tuple[list[Example], int]:
    out, dropped = [], 0
    for ex in data:
        doc = nlp.make_doc(ex.text)
        ents = []
        for s, e, label in ex.spans:
            span = doc.char_span(s, e, label=label)
            if span is None:
                dropped += 1  # gold span not on token boundaries of our segmenter
            else:
                ents.append((s, e, label))
        out.append(Example.from_dict(doc, {"entities": ents}))
    return out, dropped


def save_entity_model(nlp: Language, out: str | Path, *, meta: dict[str, Any]) -> Path:
    """Write the spaCy pipeline to ``out`` with ``civictext_meta.json`` beside its config."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(path)
    (path / "civictext_meta.json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=2, default=float) + "\n", encoding="utf-8"
    )
    return path


def train_entity_model(
    train: Sequence[EntityExample],
    *,
    epochs: int = 15,
    seed: int = 0,
    backend: str = "auto",
    hmm: bool = False,
    dropout: float = 0.2,
    log: Callable[[str], None] | None = None,
) -> tuple[Language, dict[str, Any]]:
    """Train the statistical ``ner`` component on entity examples; returns the pipeline and a report."""
    if not train:
        raise InputError("no entity training examples")
    fix_random_seed(seed)
    nlp = build_blank(backend=backend, hmm=hmm)
    ner = nlp.add_pipe("ner")
    for label in ENTITY_TYPES:
        ner.add_label(label)  # type: ignore[attr-defined]
    examples, dropped = _to_examples(nlp, train)
    optimizer = nlp.initialize(lambda: examples)
    rng = random.Random(seed)
    losses_by_epoch = []
    for epoch in range(epochs):
        rng.shuffle(examples)
        losses: dict[str, float] = {}
        for batch in minibatch(examples, size=16):  # type: ignore[no-untyped-call]
            nlp.update(batch, drop=dropout, sgd=optimizer, losses=losses)
        losses_by_epoch.append(round(float(losses.get("ner", 0.0)), 2))
        if log:
            log(f"epoch {epoch + 1}/{epochs}: ner loss {losses.get('ner', 0.0):.1f}")
    add_gazetteer_ruler(nlp, load_admin_gazetteer())
    report = {
        "examples": len(train),
        "gold_spans_dropped_unaligned": dropped,
        "epochs": epochs,
        "losses": losses_by_epoch,
    }
    return nlp, report


def entity_scores(
    gold: Sequence[Sequence[Span]], pred: Sequence[Sequence[Span]], *, types: Sequence[str] = ENTITY_TYPES
) -> dict[str, Any]:
    """Exact-span precision/recall/F1 per type and micro-averaged over ``types``."""
    per: dict[str, dict[str, float]] = {}
    tp_all = fp_all = fn_all = 0
    for label in types:
        tp = fp = fn = 0
        for g, p in zip(gold, pred, strict=True):
            gs = {s for s in g if s[2] == label}
            ps = {s for s in p if s[2] == label}
            tp += len(gs & ps)
            fp += len(ps - gs)
            fn += len(gs - ps)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per[label] = {"precision": prec, "recall": rec, "f1": f1, "support": tp + fn}
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
    prec = tp_all / (tp_all + fp_all) if tp_all + fp_all else 0.0
    rec = tp_all / (tp_all + fn_all) if tp_all + fn_all else 0.0
    micro = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"per_type": per, "micro": {"precision": prec, "recall": rec, "f1": micro}, "n": len(gold)}


def evaluate_extractor(
    extractor: EntityExtractor, data: Sequence[EntityExample], *, types: Sequence[str] | None = None
) -> dict[str, Any]:
    """Exact-span scores; ``types`` defaults to the types the gold data annotates at all
    (CLUENER has no phone numbers, so predicted PHONEs are not counted against it)."""
    if types is None:
        present = {s[2] for d in data for s in d.spans}
        types = [t for t in ENTITY_TYPES if t in present]
    preds = extractor.extract_many([d.text for d in data])
    gold = [[s for s in d.spans if s[2] in types] for d in data]
    pred = [[(e.start, e.end, e.type) for e in ents if e.type in types] for ents in preds]
    return entity_scores(gold, pred, types=types)
