"""The live tables held to the replayed log, field by field (R-L7b).

"Verification is complete": every stored field a page, a proof, a statement
or a rule reads is compared with what replaying the log gives — retirements
(claim type, statement, product, reporting year, dates, the retired range,
location and period) and their amendments, RMS certificates and their events, lots (every field), dispositions,
facilities and production lines, determinations, participants, blocks
(lineage links included) and staff roles. A row no entry created, a row the
log created that is missing, and every differing field is a ``state_drift``
finding naming the table, the row's key and the column; all of them are
reported (the first `MAX_FINDINGS`), not only the first.

The base specification of what is compared is `registry.verification.COMPARED`
(and `DERIVED`); this module adds the fields and tables that the rule replay
does not need (`registry.replay.table_fields`, `registry.replay.staff_roles`)
and does the comparison: per table, a merge join of the live rows (only the
compared columns, `yield_per` batches; a server-side cursor on PostgreSQL)
and the replayed map (streamed from the replay's scratch file), both in key
order, so memory does not grow with either.

Not compared: surrogate timestamps and ids no page shows (``created_at`` of
most rows, ``recorded_by``, a retirement's row id), the contacts themselves
(personal data: their salted digest is compared, `DERIVED`), and the serial
counters (a counter set back makes the next generation overlap a range,
which replay refuses at that entry, R-G2). A certificate event's recorded
time, which the public register shows, is held to its entry's time within
`EVENT_TIME_SLACK` (the service reads the clock for the row just before the
log does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from difflib import SequenceMatcher
from datetime import date, datetime, timedelta
from itertools import groupby
from typing import Any

from sqlalchemy import Integer, select
from sqlmodel import Session

from chainlog.canonical import parse_time
from chainlog.errors import VerificationError
from registry.db import is_postgres
from registry.models import (
    Block,
    CertificateEvent,
    Determination,
    Disposition,
    Facility,
    Lot,
    Offer,
    Participant,
    ProductionLine,
    Retirement,
    RetirementAmendment,
    RmsCertificate,
    User,
)
from registry.replay.scratch import order_key
from registry.replay.staff_roles import STAFF_ROLES
from registry.replay.state import MAX_FINDINGS, State
from registry.replay.table_fields import canonical

EVENT_TIME_SLACK = timedelta(minutes=10)


def drift(table: str, key: Any, column: str, expected: Any, found: Any) -> VerificationError:
    return VerificationError(f"{table} {key!r}: {column} expected {expected!r} (replayed from the log), "
                             f"found {found!r}", kind="state_drift", index=None)


def _plain(value: Any) -> Any:
    """A live value as the log writes it: dates as ISO text."""
    return value.isoformat() if isinstance(value, date) and not isinstance(value, datetime) else value


def _json(value: Any) -> Any:
    return None if value is None else canonical(value)


@dataclass(frozen=True)
class Field:
    """One compared field: ``name`` is the live column findings name, ``live``
    the selected columns, ``want`` the replayed record's key (or a function
    of the record), ``norm`` the live values' form as the log has it."""

    name: str
    live: tuple
    want: str | Callable[[dict], Any]
    norm: Callable[..., Any] | None = None


@dataclass(frozen=True)
class Table:
    """One table: ``replayed`` streams (key, record) in key order; ``absent``
    is the record a live row the log never mentions stands for (None: such a
    row is itself a finding)."""

    label: str
    model: Any
    key: str
    replayed: Callable[[State], Iterator[tuple[Any, dict]]]
    fields: tuple[Field, ...]
    absent: dict | None = None


def _col(model: Any, live: Any) -> Any:
    return getattr(model, live) if isinstance(live, str) else live


def base_tables(compared, derived) -> list[Table]:
    """`registry.verification.COMPARED` and `DERIVED` as `Table`s, with the
    fields and replayed streams of `EXTRA` added."""
    out = []
    for label, model, key, replayed_name, fields in compared:
        spec = [Field(live if isinstance(live, str) else name, (_col(model, live),), name)
                for name, live in fields.items()]
        spec += [Field("/".join(lives), tuple(getattr(model, c) for c in lives), name, derive)
                 for name, lives, derive in derived.get(label, ())]
        extra_fields, stream = EXTRA.get(label, ((), None))
        source = stream or (lambda state, n=replayed_name: getattr(state, n).sorted_items())
        out.append(Table(label, model, key, source, (*spec, *extra_fields)))
    return out


def _merge_sparse(main: Iterator[tuple[Any, dict]], sparse: Iterator[tuple[Any, Any]], name: str):
    """`main`'s records, each with ``name`` set from the sparse stream (same key order) or None."""
    pending = next(sparse, None)
    for key, record in main:
        while pending is not None and order_key(pending[0]) < order_key(key):
            pending = next(sparse, None)
        if pending is not None and pending[0] == key:
            record[name] = pending[1]
            pending = next(sparse, None)
        else:
            record[name] = None
        yield key, record


def _blocks(state: State):
    return _merge_sparse(state.blocks.sorted_items(), state.block_parents.sorted_items(), "parent")


def _link(n: int) -> Callable[[dict], Any]:
    return lambda record: (record.get("link") or (None, None))[n]


def _f(name: str, want: str | Callable | None = None, norm: Callable | None = None, *, model: Any,
       live: Any = None) -> Field:
    return Field(name, (_col(model, live if live is not None else name),), want if want is not None else name, norm)


def _p(name, want=None, norm=None, **kw):
    return _f(name, want, norm, model=Participant, **kw)


def _c(name, want=None, norm=None, **kw):
    return _f(name, want, norm, model=RmsCertificate, **kw)


def _l(name, want=None, norm=None, **kw):
    return _f(name, want, norm, model=Lot, **kw)


def _r(name, want=None, norm=None, **kw):
    return _f(name, want, norm, model=Retirement, **kw)


def _d(name, want=None, norm=None, **kw):
    return _f(name, want, norm, model=Determination, **kw)


_LOT_CERTIFICATE = (select(RmsCertificate.number).where(RmsCertificate.id == Lot.rms_certificate_id)
                    .scalar_subquery().label("rms_certificate"))

# Fields added to the base tables (by label), and a replayed stream replacing the plain map's.
EXTRA: dict[str, tuple[tuple[Field, ...], Callable | None]] = {
    "participant": ((
        _p("gpp_signed_on"),  # RMS 4.2.1, 8.1.3
        _p("generator_removed_on"),  # R-E4: the day (migration 0011 dated the legacy ones by their entry)
        _p("incoming_transfers", lambda r: r.get("incoming_transfers") or "automatic"),  # R-T6
    ), None),
    "RMS certificate": ((  # R-C2, R-C4: the public register shows all of it
        _c("body_code", "body"), _c("facility_scope"),
        _c("activities", lambda r: canonical(r.get("activities")), _json),
        _c("product_groups", norm=_json), _c("control_systems", norm=_json),
        _c("facilities", lambda r: canonical(r.get("facilities")), _json),
        # R-C6: every validity period, every scope version, a group's entity
        _c("periods", lambda r: canonical([{"issued_on": a, "expires_on": b} for a, b in r.get("periods") or []]),
           _json),
        _c("versions", lambda r: canonical(r.get("versions")), _json), _c("group_name"),
    ), None),
    "lot": ((  # R-B1, R-B6: the lot as registered
        _l("generator_id", "generator"), _l("facility_id", "facility"), _l("line_id", "line"), _l("reference"),
        _l("material_code"), _l("recycled_status"), _l("pc_kg"), _l("non_plastic_fraction"),
        _l("lhv_mj_per_kg"), _l("processed_on"), Field("rms_certificate_id", (_LOT_CERTIFICATE,), "rms_certificate"),
        _l("conversion", norm=_json), _l("inputs", norm=_json), _l("evidence", norm=_json),
        _l("log_index", _link(0)), _l("leaf_hash", _link(1)),  # R-L2b: where its blocks' lineage starts
        _l("custody_account_id", "custody_account"),  # R-M6: the account its ARCs and claims draw on
    ), None),
    "facility": ((_f("address", model=Facility), _f("country", model=Facility),
                  _f("capacity_kg", model=Facility)), None),  # R-A9
    "lot disposition": ((  # R-B3
        _f("kind", model=Disposition), _f("on", model=Disposition), _f("counterparty", model=Disposition),
        _f("claim", model=Disposition), _f("log_index", "index", model=Disposition),
    ), None),
    "determination": ((  # R-A2..R-A9: what generation reads, and the record the pages show
        _d("facility_id", "facility"), _d("line_id", "line"), _d("certification_year", "year"), _d("basis"),
        _d("record", norm=_json), _d("reasons", norm=_json), _d("pc_only"), _d("superseded_by"),
    ), None),
    "retirement": ((  # R-R1, R-R2, R-R5: the public record and its statement
        _r("arc_code"), _r("arc_type"), _r("generation_year"), _r("generator_id", "generator"),
        _r("lot_reference"), _r("first_unit", "first"), _r("last_unit", "last"),
        _r("beneficiary_key"), _r("product_key"), _r("claim_type"), _r("reporting_year"), _r("claim_date"),
        _r("statement"), _r("basis_kg"), _r("claim_share"), _r("product", norm=_json), _r("retired_on"),
        _r("claimed_status"), _r("label_approval_ref"),  # R-R8
        _r("location_country"), _r("location_subdivision"), _r("period_from"), _r("period_to"),  # R-R6, R-R7
        _r("bulk_id"),  # R-T7: the bulk retirement its statement lists it in
        _r("log_index", "index"), _r("leaf_hash", "leaf"),
    ), None),
    "block": ((  # R-L2b: the lineage pages and provenance proofs follow these
        _f("log_index", _link(0), model=Block),
        _f("leaf_hash", _link(1), model=Block),
        _f("parent_serial", "parent", model=Block),
    ), _blocks),
}


def _staff_role(role: str | None) -> str | None:
    return role if role in STAFF_ROLES else None


_AMENDED_SERIAL = (select(Retirement.serial).where(Retirement.id == RetirementAmendment.retirement_id)
                   .scalar_subquery().label("retirement_serial"))


def _a(name, want=None, norm=None, **kw):
    return _f(name, want, norm, model=RetirementAmendment, **kw)


# Tables the base specification does not hold.
MORE = (
    # R-R7: each amendment is its retirement.amended entry (keyed by the entry's index), on the
    # retirement it names (the statement's history reads it by the retirement's row id).
    Table("retirement amendment", RetirementAmendment, "log_index", lambda s: s.amendments.sorted_items(), (
        _a("serial"), Field("retirement_id", (_AMENDED_SERIAL,), "serial"), _a("amended_on"),
        _a("changes", norm=_json), _a("leaf_hash", "leaf"))),
    Table("production line", ProductionLine, "id", lambda s: s.lines.sorted_items(), (
        _f("facility_id", "facility", model=ProductionLine), _f("name", model=ProductionLine),
        _f("capacity_kg", model=ProductionLine))),  # R-A9: what line determinations are bounded by
    # R-P4, R-L7b: a user row holds a staff role exactly when the log granted it (members are not logged).
    # R-T6: every offer, its parties, state and lapse date, and the entries that made and closed it.
    Table("offer", Offer, "id", lambda s: s.offers.sorted_items(), (
        _f("serial", model=Offer), _f("from_participant_id", "from", model=Offer),
        _f("to_participant_id", "to", model=Offer), _f("state", model=Offer), _f("lapses_on", model=Offer),
        _f("leaf_hash", "leaf", model=Offer), _f("decided_log_index", "decided", model=Offer))),
    Table("user", User, "id", lambda s: s.staff.sorted_items(), (
        Field("role", (User.role,), "role", _staff_role), _f("body_code", "body", model=User)),
        absent={"role": None, "body": None}),
)


class Findings:
    """The differences found, up to `MAX_FINDINGS`."""

    def __init__(self) -> None:
        self.items: list[VerificationError] = []

    @property
    def full(self) -> bool:
        return len(self.items) >= MAX_FINDINGS

    def add(self, error: VerificationError) -> None:
        if not self.full:
            self.items.append(error)


def _order(column: Any, postgres: bool) -> Any:
    # Text keys in byte order on both sides (scratch SQLite is BINARY): "C" on PostgreSQL.
    return column.collate("C") if postgres and not isinstance(column.type, Integer) else column


def compare_table(session: Session, state: State, table: Table, postgres: bool, out: Findings) -> None:
    """Merge join of one live table with its replayed map; every difference into ``out``."""
    replayed = table.replayed(state)
    column = getattr(table.model, table.key)
    columns = [column, *(c for f in table.fields for c in f.live)]
    plan = [(f.name, len(f.live), f.want if isinstance(f.want, str) else None,
             None if isinstance(f.want, str) else f.want, f.norm) for f in table.fields]
    label = table.label
    rows = session.execute(select(*columns).order_by(_order(column, postgres)).execution_options(yield_per=5000))
    try:
        pending = next(replayed, None)
        for row in rows:
            if out.full:
                return
            key = row[0]
            while pending is not None and order_key(pending[0]) < order_key(key):
                _missing(table, pending, out)
                pending = next(replayed, None)
            if pending is not None and order_key(pending[0]) == order_key(key):
                want = pending[1]
                pending = next(replayed, None)
            elif table.absent is not None:
                want = table.absent
            else:
                out.add(drift(label, key, table.key, f"no such {label}: no log entry created it", key))
                continue
            at = 1
            for name, width, want_key, want_of, norm in plan:
                if width == 1:
                    live = row[at]
                    live = _plain(live) if norm is None else norm(live)
                else:
                    live = norm(*row[at:at + width])
                at += width
                expected = want.get(want_key) if want_of is None else want_of(want)
                if live != expected:
                    out.add(drift(label, key, name, expected, live))
        while pending is not None and not out.full:
            _missing(table, pending, out)
            pending = next(replayed, None)
    finally:
        rows.close()


def _missing(table: Table, pending: tuple[Any, dict], out: Findings) -> None:
    if table.absent is not None and all(pending[1].get(k) == v for k, v in table.absent.items()):
        return  # e.g. a revoked role's user: nothing to hold
    out.add(drift(table.label, pending[0], "row", "present (created by the log)", "missing"))


def compare_certificate_events(session: Session, state: State, postgres: bool, out: Findings) -> None:
    """R-C3, R-C4: each certificate's suspensions, reinstatements and
    revocations, in the order recorded, are its log entries' — none deleted,
    added or edited (kind, date, reason, and when it was recorded)."""
    number = RmsCertificate.number
    rows = session.execute(
        select(number, CertificateEvent.id, CertificateEvent.kind, CertificateEvent.on, CertificateEvent.reason,
               CertificateEvent.created_at)
        .join(RmsCertificate, RmsCertificate.id == CertificateEvent.certificate_id)
        .order_by(_order(number, postgres), CertificateEvent.id).execution_options(yield_per=5000))
    try:
        groups = groupby(rows, key=lambda r: r[0])
        live = next(groups, None)
        for cert_number, cert in state.certificates.sorted_items():
            if out.full:
                return
            while live is not None and order_key(live[0]) < order_key(cert_number):
                for row in live[1]:  # events of a certificate the log never recorded
                    out.add(drift("RMS certificate event", row[1], "row", "none: no log entry recorded it",
                                  f"{row[2]} on {_plain(row[3])} of {row[0]}"))
                live = next(groups, None)
            mine = []
            if live is not None and live[0] == cert_number:
                mine = list(live[1])
                live = next(groups, None)
            _compare_events(cert_number, cert, mine, out)
        while live is not None and not out.full:
            for row in live[1]:
                out.add(drift("RMS certificate event", row[1], "row", "none: no log entry recorded it",
                              f"{row[2]} on {_plain(row[3])} of {row[0]}"))
            live = next(groups, None)
    finally:
        rows.close()


def _compare_events(number: str, cert: dict, rows: list, out: Findings) -> None:
    """The certificate's logged events against its rows, aligned as a diff
    (`difflib`): a deleted row is one missing event, an added row one event
    no entry recorded, an edited row its differing fields."""
    notes = cert.get("notes") or []
    logged = [(kind, on, notes[n][0] if n < len(notes) else None, notes[n][1] if n < len(notes) else None)
              for n, (kind, on) in enumerate(cert.get("events") or [])]
    live = [(kind, _plain(on), reason) for _, _, kind, on, reason, _ in rows]
    matcher = SequenceMatcher(None, [e[:3] for e in logged], live, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        pairs = list(zip(range(i1, i2), range(j1, j2)))
        for n, m in pairs:
            _compare_event(logged[n], rows[m], out)
        for n in range(i1 + len(pairs), i2):
            out.add(drift("RMS certificate", number, f"event {n + 1}", f"{logged[n][0]} on {logged[n][1]} (logged)",
                          "missing"))
        for m in range(j1 + len(pairs), j2):
            out.add(drift("RMS certificate event", rows[m][1], "row", "none: no log entry recorded it",
                          f"{rows[m][2]} on {_plain(rows[m][3])} of {number}"))


def _compare_event(logged: tuple, row: tuple, out: Findings) -> None:
    want_kind, want_on, want_reason, logged_at = logged
    _, event_id, kind, on, reason, created_at = row
    for column, expected, found in (("kind", want_kind, kind), ("on", want_on, _plain(on)),
                                    ("reason", want_reason, reason)):
        if expected != found:
            out.add(drift("RMS certificate event", event_id, column, expected, found))
    if isinstance(logged_at, str) and created_at is not None:
        at = parse_time(logged_at)
        if not at - EVENT_TIME_SLACK <= created_at <= at + timedelta(seconds=1):
            out.add(drift("RMS certificate event", event_id, "created_at",
                          f"the entry's time {logged_at} (within {EVENT_TIME_SLACK})", created_at.isoformat()))


def compare(session: Session, state: State, compared, derived) -> list[VerificationError]:
    """Every difference between the live tables and the replayed state (the first `MAX_FINDINGS`)."""
    postgres = is_postgres(session)
    out = Findings()
    tables = base_tables(compared, derived)
    blocks = [t for t in tables if t.label == "block"]  # the biggest table last
    for table in [*(t for t in tables if t.label != "block"), *MORE]:
        compare_table(session, state, table, postgres, out)
    compare_certificate_events(session, state, postgres, out)
    for table in blocks:
        compare_table(session, state, table, postgres, out)
    return out.items
