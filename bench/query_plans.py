"""Capture the SQL a piece of registry code runs and explain it on PostgreSQL.

Used by bench/scale.py: every statement the hot paths execute (an HTTP
request through the Flask app, a job) is recorded with its parameters, then
run again under ``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`` inside a
transaction that is rolled back, so writes (the expiry job's updates) change
nothing. A plan node that reads a whole table (``Seq Scan``) on a table of
more than ``big`` rows is a finding.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import event, text


@dataclass
class Statement:
    sql: str
    params: object


@dataclass
class Plan:
    sql: str
    ms: float
    scans: list[tuple[str, str, str]]  # (node type, relation, index or "")
    seq_scans_on_big: list[str] = field(default_factory=list)


@contextmanager
def captured(engine):
    """Yield a list that fills with every query run on ``engine`` (inserts
    read no table and are left out)."""
    statements: list[Statement] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if not executemany and statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH")):
            statements.append(Statement(statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def table_rows(engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT relname, reltuples::bigint FROM pg_class WHERE relkind = 'r' "
                                 "AND relnamespace = 'public'::regnamespace"))
        return {name: int(n) for name, n in rows}


def explain(engine, statements: list[Statement], *, big: int = 10_000) -> list[Plan]:
    """Explain each distinct statement once (first parameters seen)."""
    sizes = table_rows(engine)
    seen: set[str] = set()
    plans = []
    raw = engine.raw_connection()
    try:
        for st in statements:
            if st.sql in seen:
                continue
            seen.add(st.sql)
            cur = raw.cursor()
            try:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + st.sql, st.params)
                doc = cur.fetchone()[0]
            finally:
                raw.rollback()
            doc = json.loads(doc) if isinstance(doc, str) else doc
            top = doc[0]
            scans = [(n["Node Type"], n.get("Relation Name", ""), n.get("Index Name", ""))
                     for n in _nodes(top["Plan"]) if "Scan" in n["Node Type"]]
            big_seq = [rel for kind, rel, _ in scans if kind == "Seq Scan" and sizes.get(rel, 0) > big]
            plans.append(Plan(" ".join(st.sql.split()), top["Execution Time"], scans, big_seq))
    finally:
        raw.close()
    return plans


def report(name: str, plans: list[Plan], *, width: int = 110) -> list[str]:
    """Lines of a plain-text report: each statement, its time and its scans."""
    lines = [f"## {name}"]
    for p in plans:
        flag = "  <-- SEQ SCAN on " + ", ".join(p.seq_scans_on_big) if p.seq_scans_on_big else ""
        lines.append(f"- {p.ms:8.2f} ms  {p.sql[:width]}{flag}")
        seen: dict[str, int] = {}
        for kind, rel, index in p.scans:
            key = f"{kind} {rel}{' using ' + index if index else ''}"
            seen[key] = seen.get(key, 0) + 1
        lines += [f"      {key}{f' (x{n})' if n > 1 else ''}" for key, n in seen.items()]
    return lines
