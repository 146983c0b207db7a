"""The complaint-intake HTTP service: cases, their lifecycle, review, Open311 and the triage page.

FastAPI + SQLAlchemy (``civictext[service]``). One data-access layer serves SQLite (a file,
WAL mode; the default) and any SQLAlchemy URL (PostgreSQL: ``postgresql+psycopg://...``).
Every submitted case is stored with its analysis, the model version and the route; a
dispatcher's review (a confirmation or a correction) is stored beside the original decision,
never over it. A submission may carry an ``Idempotency-Key`` header: a retry with the same key
returns the case already stored instead of storing it twice.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path
from typing import Annotated, Any, Literal, cast

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy import (
    JSON,
    Boolean,
    CursorResult,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    event,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

MAX_TEXT_CHARS = 20_000
#: Bodies larger than this are refused unread (4 bytes per character of the largest text, plus room).
MAX_BODY_BYTES = 4 * MAX_TEXT_CHARS + 64 * 1024
TRIAGE_PAGE = Path(__file__).with_name("data") / "triage.html"
TOKEN_ENV = "CIVICTEXT_TOKEN"
#: The largest id: PostgreSQL's INTEGER (SQLite's are 64-bit). A larger one in a URL is a 422,
#: not an overflow inside the database driver.
MAX_ID = 2**31 - 1
CaseId = Annotated[int, PathParam(ge=1, le=MAX_ID)]


class Base(DeclarativeBase):
    pass


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(200), nullable=True)
    location: Mapped[str | None] = mapped_column(String(500), nullable=True)
    status: Mapped[str] = mapped_column(String(30), default="received")
    category: Mapped[str] = mapped_column(String(80), index=True)
    confidence: Mapped[float] = mapped_column(Float)
    office_id: Mapped[str] = mapped_column(String(80), index=True)
    priority: Mapped[str] = mapped_column(String(20))
    needs_review: Mapped[bool] = mapped_column(Boolean, index=True)
    districts: Mapped[str] = mapped_column(Text, default="")
    analysis: Mapped[dict[str, Any]] = mapped_column(JSON)
    model_version: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    deadline: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    duplicate_of: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duplicate_similarity: Mapped[float | None] = mapped_column(Float, nullable=True)
    request_key: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)


class StatusEvent(Base):
    __tablename__ = "status_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(120))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


#: The hotline lifecycle: which status may follow which.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "received": ("assigned",),
    "assigned": ("in_progress", "rejected_by_office"),
    "in_progress": ("resolved", "rejected_by_office"),
    "rejected_by_office": ("redispatched",),
    "redispatched": ("assigned",),
    "resolved": ("closed", "in_progress"),
    "closed": (),
}
OPEN_STATUSES = ("received", "assigned", "in_progress", "rejected_by_office", "redispatched")


class Correction(Base):
    __tablename__ = "corrections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default="correct")  # "confirm" or "correct"
    category: Mapped[str | None] = mapped_column(String(80), nullable=True)
    office_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    by: Mapped[str] = mapped_column(String(120))
    why: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


def make_engine(db: str) -> Any:
    """SQLAlchemy engine for a file path (SQLite, WAL mode) or a database URL."""
    url = db if "://" in db else f"sqlite:///{Path(db).resolve()}"
    engine = create_engine(url, future=True)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _wal(dbapi_conn: Any, _: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    Base.metadata.create_all(engine)
    _check_schema(engine)
    return engine


def _check_schema(engine: Any) -> None:
    """Refuse a database whose tables lack columns this version writes (made by an older civictext)."""
    from sqlalchemy import inspect

    from .errors import ConfigError

    have = inspect(engine)
    for table in Base.metadata.sorted_tables:
        missing = {c.name for c in table.columns} - {c["name"] for c in have.get_columns(table.name)}
        if missing:
            raise ConfigError(
                f"database table {table.name!r} lacks columns {sorted(missing)}: it was made by an older "
                "civictext; export its corrections with that version, or point --db at a new database"
            )


def _storable(value: str) -> str:
    """Text both databases can store: no NUL (PostgreSQL refuses it) and no unpaired surrogate
    (not encodable as UTF-8)."""
    from .pipeline import unpaired_surrogate

    if "\x00" in value:
        raise ValueError(f"contains a NUL character at {value.index(chr(0))}, which cannot be stored")
    at = unpaired_surrogate(value)
    if at is not None:
        raise ValueError(f"contains an unpaired UTF-16 surrogate at {at} (not valid Unicode text)")
    return value


#: A string field of a request body that is stored.
Stored = Annotated[str, AfterValidator(_storable)]


class CaseIn(BaseModel):
    text: Stored = Field(..., description="The complaint text.")
    contact: Stored | None = Field(None, max_length=200)
    location: Stored | None = Field(None, max_length=500)


class StatusIn(BaseModel):
    status: str
    actor: Stored = Field(..., min_length=1, max_length=120)
    note: Stored = ""


class CorrectionIn(BaseModel):
    category: str | None = None
    office: str | None = None
    by: Stored = Field(..., min_length=1, max_length=120)
    why: Stored = ""


class ReviewIn(BaseModel):
    decision: Literal["confirm", "correct"]
    category: str | None = None
    office: str | None = None
    by: Stored = Field(..., min_length=1, max_length=120)
    why: Stored = ""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _bigrams(text: str) -> set[str]:
    from .normalize import normalize

    t = "".join(ch for ch in normalize(text) if not ch.isspace())
    return {t[i : i + 2] for i in range(len(t) - 1)}


def _jaccard(x: set[str], y: set[str]) -> float:
    return len(x & y) / len(x | y) if x and y else 0.0


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of character bigrams (normalized, whitespace ignored)."""
    return _jaccard(_bigrams(a), _bigrams(b))


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)  # SQLite hands datetimes back naive


def case_to_dict(
    c: Case, corrections: list[Correction] | None = None, events: list[StatusEvent] | None = None
) -> dict[str, Any]:
    d = {
        "id": c.id,
        "text": c.text,
        "contact": c.contact,
        "location": c.location,
        "status": c.status,
        "category": c.category,
        "confidence": c.confidence,
        "office": c.office_id,
        "priority": c.priority,
        "needs_review": c.needs_review,
        "model_version": c.model_version,
        "created_at": _aware(c.created_at).isoformat(),
        "deadline": _aware(c.deadline).isoformat(),
        "overdue": c.status in OPEN_STATUSES and _aware(c.deadline) < _now(),
        "reviewed": None if c.reviewed_at is None else {"by": c.reviewed_by, "at": _aware(c.reviewed_at).isoformat()},
        "duplicate_of": (
            None
            if c.duplicate_of is None
            else {"id": c.duplicate_of, "similarity": round(c.duplicate_similarity or 0, 3)}
        ),
        "analysis": c.analysis,
    }
    if corrections is not None:
        d["corrections"] = [
            {"id": k.id, "kind": k.kind, "category": k.category, "office": k.office_id, "by": k.by, "why": k.why,
             "created_at": _aware(k.created_at).isoformat()}
            for k in corrections
        ]  # fmt: skip
    if events is not None:
        d["events"] = [
            {"from": e.from_status, "to": e.to_status, "actor": e.actor, "note": e.note,
             "at": _aware(e.created_at).isoformat()}
            for e in events
        ]  # fmt: skip
    return d


def create_app(
    db: str,
    *,
    model_dir: str | None = None,
    routes: str | None = None,
    token: str | None = None,
    duplicate_window_days: float = 7.0,
    duplicate_threshold: float = 0.6,
) -> FastAPI:
    """The FastAPI application (the analyzer and routing table are loaded once, here).

    A new case whose text has a character-bigram similarity of at least
    ``duplicate_threshold`` with an open case naming one of the same places, submitted in the
    last ``duplicate_window_days``, is linked to it (``duplicate_of``) — shown, not merged.
    """
    from .errors import InputError
    from .pipeline import Analyzer
    from .routing import deadline, load_routing_table

    table = load_routing_table(routes)
    analyzer = Analyzer.load(model_dir, routes=table)
    analyzer.analyze("启动自检：芦淞区建设路停水")  # load the segmenter and entity pipeline before the first request
    engine = make_engine(db)
    sessions = sessionmaker(engine, expire_on_commit=False)
    token = token if token is not None else os.environ.get(TOKEN_ENV) or None
    app = FastAPI(title="civictext complaint intake", version="0.1.0")
    labels = {c.id for c in analyzer.taxonomy.categories}
    # One analysis at a time per process: they hold the GIL anyway, and 40 request threads
    # interleaving them cost a fifth of the throughput at 8-16 concurrent clients (BENCHMARKS §7).
    # More cores: `serve --workers N`.
    analysis_lock = threading.Lock()
    stats = {"submitted": 0, "rejected": 0}

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        """422 naming each bad field and the problem, without echoing the input back (it may be
        large, or not encodable, such as an unpaired surrogate)."""
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, 422)

    @app.middleware("http")
    async def check_body(request: Request, call_next: Any) -> Any:
        """Refuse, before any parsing, bodies far over the text limit and bodies that are not UTF-8,
        and NUL characters in query parameters (no stored value can contain one)."""
        if any("\x00" in v for v in request.query_params.values()):
            return JSONResponse({"detail": "a query parameter contains a NUL character"}, 422)
        if request.method in ("POST", "PUT", "PATCH"):
            length = request.headers.get("content-length")
            if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
                return JSONResponse({"detail": f"request body has {int(length):,} bytes; the limit is "
                                     f"{MAX_BODY_BYTES:,} ({MAX_TEXT_CHARS:,} characters of text)"}, 413)  # fmt: skip
            body = await request.body()
            if len(body) > MAX_BODY_BYTES:
                return JSONResponse({"detail": f"request body is over {MAX_BODY_BYTES:,} bytes"}, 413)
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as exc:
                return JSONResponse(
                    {"detail": f"request body is not valid UTF-8: byte 0x{body[exc.start]:02X} at offset {exc.start}"},
                    400,
                )
        return await call_next(request)

    def session() -> Any:
        with sessions() as s:
            yield s

    def require_token(authorization: str | None = Header(None)) -> None:
        if token and authorization != f"Bearer {token}":
            raise HTTPException(401, f"this needs 'Authorization: Bearer <token>' (the service's ${TOKEN_ENV})")

    def submit(
        s: Session, text: str, contact: str | None, location: str | None, key: str | None = None
    ) -> tuple[Case, bool]:
        """Analyse, route and store one complaint; (case, True) when stored now, (case, False) when
        ``key`` names a case stored before (a client's retry)."""
        if key is not None:
            known = s.scalar(select(Case).where(Case.request_key == key))
            if known is not None:
                return known, False
        if len(text) > MAX_TEXT_CHARS:
            stats["rejected"] += 1
            raise HTTPException(413, f"text has {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}")
        try:
            with analysis_lock:
                rec = analyzer.analyze(text)
        except InputError as exc:
            stats["rejected"] += 1
            raise HTTPException(422, str(exc)) from None
        d = rec.to_dict()
        route = d["route"] or {}
        created = _now()
        places = [e.text for e in rec.entities if e.type == "DISTRICT"]
        dup_id, dup_sim = None, None
        if places:
            since = created - dt.timedelta(days=duplicate_window_days)
            q = select(Case.id, Case.text, Case.districts).where(  # columns only: not the stored analyses
                Case.status.in_(OPEN_STATUSES),
                Case.created_at >= since,
                or_(*(Case.districts.contains(p) for p in places)),
            )
            grams, wanted = _bigrams(text), set(places)
            for other_id, other_text, other_places in s.execute(q.order_by(Case.id)):
                if set(other_places.split("|")) & wanted:
                    sim = _jaccard(grams, _bigrams(other_text))
                    if sim >= duplicate_threshold and (dup_sim is None or sim > dup_sim):
                        dup_id, dup_sim = other_id, sim
        case = Case(
            text=text, contact=contact, location=location, status="received", category=rec.category,
            confidence=rec.confidence, office_id=route["office"]["id"], priority=route["priority"],
            needs_review=route["needs_review"], analysis=d, model_version=rec.model["version"], created_at=created,
            deadline=deadline(created, route["priority"], table, route["office"]["id"]), duplicate_of=dup_id,
            duplicate_similarity=dup_sim, districts="|".join(places), request_key=key,
        )  # fmt: skip
        s.add(case)
        try:
            s.commit()
        except IntegrityError:  # the same key committed by a concurrent retry a moment ago
            s.rollback()
            known = s.scalar(select(Case).where(Case.request_key == key)) if key is not None else None
            if known is None:
                raise
            return known, False
        stats["submitted"] += 1
        return case, True

    @app.post(
        "/cases", status_code=201, summary="Submit a complaint",
        responses={200: {"description": "A retry: the case stored before under this Idempotency-Key"}},
    )  # fmt: skip
    def post_case(
        body: CaseIn,
        response: Response,
        s: Session = Depends(session),
        idempotency_key: str | None = Header(
            None,
            max_length=200,
            description="Client's unique key for this submission; a retry returns the stored case.",
        ),
    ) -> dict[str, Any]:
        case, created = submit(s, body.text, body.contact, body.location, idempotency_key)
        if not created:
            response.status_code = 200
        return case_to_dict(case)

    @app.get("/cases", summary="List cases with filters")
    def list_cases(
        s: Session = Depends(session),
        status: str | None = None,
        office: str | None = None,
        category: str | None = None,
        district: str | None = None,
        needs_review: bool | None = None,
        reviewed: bool | None = Query(None, description="true: a dispatcher confirmed or corrected it"),
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = Query(50, ge=1, le=500),
        offset: int = Query(0, ge=0, le=MAX_ID),
    ) -> dict[str, Any]:
        q = select(Case)
        for col, value in ((Case.status, status), (Case.office_id, office), (Case.category, category),
                           (Case.needs_review, needs_review)):  # fmt: skip
            if value is not None:
                q = q.where(col == value)
        if reviewed is not None:
            q = q.where(Case.reviewed_at.is_not(None) if reviewed else Case.reviewed_at.is_(None))
        if district:
            q = q.where(Case.districts.contains(district))
        if since:
            q = q.where(Case.created_at >= since)
        if until:
            q = q.where(Case.created_at < until)
        total = s.scalar(select(func.count()).select_from(q.subquery()))
        rows = s.scalars(q.order_by(Case.id).limit(limit).offset(offset)).all()
        return {"total": total, "limit": limit, "offset": offset, "cases": [case_to_dict(c) for c in rows]}

    @app.get("/cases/{case_id}", summary="Fetch one case with its corrections")
    def get_case(case_id: CaseId, s: Session = Depends(session)) -> dict[str, Any]:
        c = s.get(Case, case_id)
        if c is None:
            raise HTTPException(404, f"no case {case_id}")
        corr = s.scalars(select(Correction).where(Correction.case_id == case_id).order_by(Correction.id)).all()
        events = s.scalars(select(StatusEvent).where(StatusEvent.case_id == case_id).order_by(StatusEvent.id)).all()
        return case_to_dict(c, list(corr), list(events))

    @app.post("/cases/{case_id}/status", summary="Move a case along its lifecycle",
              dependencies=[Depends(require_token)])  # fmt: skip
    def set_status(case_id: CaseId, body: StatusIn, s: Session = Depends(session)) -> dict[str, Any]:
        c = s.get(Case, case_id)
        if c is None:
            raise HTTPException(404, f"no case {case_id}")
        allowed = TRANSITIONS.get(c.status, ())
        if body.status not in allowed:
            raise HTTPException(
                409, f"case {case_id} is {c.status!r}; it can move to {list(allowed)}, not {body.status!r}"
            )
        s.add(StatusEvent(case_id=case_id, from_status=c.status, to_status=body.status, actor=body.actor,
                          note=body.note, created_at=_now()))  # fmt: skip
        c.status = body.status
        s.commit()
        return {"id": case_id, "status": c.status}

    @app.get("/hotspots", summary="Category × district cells with unusually many cases")
    def hotspots(
        s: Session = Depends(session),
        days: float = Query(7, gt=0, le=3660),
        min_count: int = Query(3, ge=1, le=MAX_ID),
        factor: float = Query(2.0, gt=0, le=1e6),
        now: dt.datetime | None = None,
    ) -> dict[str, Any]:
        """Cells of the last ``days`` whose count reaches ``min_count`` or ``factor`` × their own
        baseline (the mean count per ``days`` over the four windows before)."""
        at = _aware(now) if now else _now()
        try:
            start, base_start = at - dt.timedelta(days=days), at - dt.timedelta(days=5 * days)
        except OverflowError:
            raise HTTPException(422, f"{days} days × 5 before {at.isoformat()} is outside the calendar") from None
        recent: dict[tuple[str, str], int] = {}
        before: dict[tuple[str, str], int] = {}
        rows = s.execute(select(Case.created_at, Case.category, Case.districts).where(Case.created_at >= base_start))
        for created_at, category, districts in rows:
            created = _aware(created_at)
            if created > at:
                continue
            for place in {p for p in districts.split("|") if p}:
                key = (category, place)
                bucket = recent if created >= start else before
                bucket[key] = bucket.get(key, 0) + 1
        cells: list[dict[str, Any]] = []
        for (cat, place), n in recent.items():
            baseline = before.get((cat, place), 0) / 4
            if n >= min_count or (baseline > 0 and n >= factor * baseline):
                cells.append({"category": cat, "district": place, "count": n, "baseline": baseline})
        cells.sort(key=lambda x: (-int(x["count"]), str(x["category"]), str(x["district"])))
        return {"from": start.isoformat(), "to": at.isoformat(), "cells": cells}

    @app.get("/cases-overdue", summary="Open cases past their deadline")
    def overdue(s: Session = Depends(session), now: dt.datetime | None = None) -> dict[str, Any]:
        at = _aware(now) if now else _now()
        rows = s.scalars(
            select(Case).where(Case.status.in_(OPEN_STATUSES)).order_by(Case.deadline, Case.id)
        ).all()  # fmt: skip
        late = [c for c in rows if _aware(c.deadline) < at]
        return {"at": at.isoformat(), "total": len(late), "cases": [case_to_dict(c) for c in late]}

    def record_review(
        s: Session,
        case_id: int,
        kind: str,
        category: str | None,
        office: str | None,
        by: str,
        why: str,
        *,
        first_only: bool = False,
    ) -> Correction:
        """Store a confirmation or correction; the first one also marks the case reviewed. With
        ``first_only``, a case someone already reviewed is a 409 — decided by one conditional
        UPDATE, so two dispatchers clicking at the same moment cannot both be first."""
        if category is not None and category not in labels:
            raise HTTPException(422, f"unknown category {category!r}")
        if office is not None and office not in table.offices.offices:
            raise HTTPException(422, f"unknown office {office!r}")
        at = _now()
        claim = (
            update(Case).where(Case.id == case_id, Case.reviewed_at.is_(None)).values(reviewed_at=at, reviewed_by=by)
        )
        first = cast("CursorResult[Any]", s.execute(claim)).rowcount
        if first_only and not first:
            s.rollback()
            c = s.get(Case, case_id)
            assert c is not None and c.reviewed_at is not None
            raise HTTPException(409, f"case {case_id} was reviewed by {c.reviewed_by} at {_aware(c.reviewed_at):%H:%M}")
        k = Correction(case_id=case_id, kind=kind, category=category, office_id=office, by=by, why=why, created_at=at)
        s.add(k)
        s.commit()
        return k

    @app.post("/cases/{case_id}/corrections", status_code=201, summary="Correct category and/or office",
              dependencies=[Depends(require_token)])  # fmt: skip
    def correct(case_id: CaseId, body: CorrectionIn, s: Session = Depends(session)) -> dict[str, Any]:
        if s.get(Case, case_id) is None:
            raise HTTPException(404, f"no case {case_id}")
        if body.category is None and body.office is None:
            raise HTTPException(422, "a correction needs a new category, a new office, or both")
        k = record_review(s, case_id, "correct", body.category, body.office, body.by, body.why)
        return {"id": k.id, "case_id": case_id, "kind": k.kind, "category": k.category, "office": k.office_id,
                "by": k.by}  # fmt: skip

    @app.post("/cases/{case_id}/review", status_code=201, summary="Confirm or correct a case awaiting review",
              dependencies=[Depends(require_token)])  # fmt: skip
    def review(case_id: CaseId, body: ReviewIn, s: Session = Depends(session)) -> dict[str, Any]:
        """The triage page's one click: ``confirm`` keeps the model's category and office (stored as a
        confirmation, which feedback export counts as a label); ``correct`` stores the new ones.
        A case already reviewed answers 409 naming who reviewed it, so two dispatchers do not
        handle it twice."""
        c = s.get(Case, case_id)
        if c is None:
            raise HTTPException(404, f"no case {case_id}")
        category: str | None = c.category
        office: str | None = c.office_id
        if body.decision == "correct":
            if body.category is None and body.office is None:
                raise HTTPException(422, "a correction needs a new category, a new office, or both")
            category, office = body.category, body.office
        k = record_review(s, case_id, body.decision, category, office, body.by, body.why, first_only=True)
        return {"id": k.id, "case_id": case_id, "kind": k.kind, "category": k.category, "office": k.office_id,
                "by": k.by}  # fmt: skip

    @app.get("/offices", summary="Offices, and the office each category goes to when nothing narrows it")
    def offices() -> dict[str, Any]:
        by_category: dict[str, str] = {}
        for rule in table.rules:
            if rule.district is None and rule.org_office is None:
                by_category.setdefault(rule.category, rule.office)
        return {
            "offices": [{"id": o.id, "name": o.name} for o in table.offices.offices.values()],
            "category_offices": by_category,
            "default_office": table.default_office,
        }

    @app.get("/triage", response_class=HTMLResponse, summary="The dispatchers' review page")
    def triage() -> HTMLResponse:
        return HTMLResponse(TRIAGE_PAGE.read_text(encoding="utf-8"))

    # -- Open311 GeoReport v2 subset --------------------------------------------------------
    @app.get("/open311/v2/services.json", summary="Open311: the categories as services")
    def services() -> list[dict[str, Any]]:
        return [
            {"service_code": c.id, "service_name": c.name, "description": c.description, "metadata": False,
             "type": "realtime", "keywords": "", "group": "civictext"}
            for c in analyzer.taxonomy.categories
        ]  # fmt: skip

    @app.post("/open311/v2/requests.json", summary="Open311: submit a service request")
    async def open311_post(request: Request, s: Session = Depends(session)) -> JSONResponse:
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                form: dict[str, Any] = await request.json()
            except ValueError:
                raise HTTPException(400, "invalid JSON") from None
        else:  # application/x-www-form-urlencoded, as Open311 clients send
            from urllib.parse import parse_qsl

            try:
                form = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True, errors="strict"))
            except UnicodeDecodeError:
                raise HTTPException(400, "form body is not valid UTF-8 (also inside its %-escapes)") from None
        text = form.get("description")
        if not isinstance(text, str):
            raise HTTPException(400, "Open311 requests need a 'description'")
        for key, value in form.items():
            if isinstance(value, str):
                try:
                    _storable(value)
                except ValueError as exc:
                    raise HTTPException(400, f"{key}: {exc}") from None
        loc = form.get("address_string") or (f"{form.get('lat')},{form.get('long')}" if form.get("lat") else None)
        case, _ = submit(s, text, form.get("email") or form.get("phone"), loc)
        return JSONResponse([{"service_request_id": str(case.id), "service_notice": case.office_id}], status_code=201)

    @app.get("/open311/v2/requests/{request_id}.json", summary="Open311: one service request")
    def open311_get(request_id: CaseId, s: Session = Depends(session)) -> list[dict[str, Any]]:
        c = s.get(Case, request_id)
        if c is None:
            raise HTTPException(404, f"no request {request_id}")
        return [{"service_request_id": str(c.id), "status": "closed" if c.status in ("resolved", "closed") else "open",
                 "service_code": c.category, "description": c.text, "agency_responsible": c.office_id,
                 "requested_datetime": c.created_at.isoformat(), "address": c.location}]  # fmt: skip

    @app.get("/health")
    def health(s: Session = Depends(session)) -> dict[str, Any]:
        s.execute(select(1))
        return {"status": "ok", "model": analyzer.model.version}

    @app.get("/metrics")
    def metrics(s: Session = Depends(session)) -> dict[str, Any]:
        by_cat = dict(s.execute(select(Case.category, func.count()).group_by(Case.category)).all())
        review = s.scalar(select(func.count()).where(Case.needs_review.is_(True)))
        return {"cases": sum(by_cat.values()), "by_category": by_cat, "needs_review": review, **stats}

    return app


SERVE_CONFIG_ENV = "CIVICTEXT_SERVE_CONFIG"


def app_from_env() -> FastAPI:
    """The application for each worker process of ``civictext serve --workers N`` (a uvicorn
    factory): ``create_app``'s arguments come as JSON in ``$CIVICTEXT_SERVE_CONFIG``."""
    return create_app(**json.loads(os.environ[SERVE_CONFIG_ENV]))


def export_feedback(db: str, out: str | Path) -> int:
    """Dispatcher reviews naming a category (corrections and confirmations) as training JSON Lines,
    the latest per case."""
    engine = make_engine(db)
    with Session(engine) as s:
        rows = s.execute(
            select(Case.id, Case.text, Correction.category).join(Correction, Correction.case_id == Case.id)
            .where(Correction.category.is_not(None)).order_by(Case.id, Correction.id)
        ).all()  # fmt: skip
    latest: dict[int, tuple[str, str]] = {}
    for cid, text, cat in rows:
        latest[cid] = (text, str(cat))
    Path(out).write_text(
        "".join(
            json.dumps({"id": f"case-{cid}", "text": t, "label": c}, ensure_ascii=False) + "\n"
            for cid, (t, c) in latest.items()
        ),
        encoding="utf-8",
    )
    return len(latest)
