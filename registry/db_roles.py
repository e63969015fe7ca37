"""R-L8b: on PostgreSQL the server runs as a role that owns no table.

Two roles share one database:

- the **owner** (``ARCREG_OWNER_DATABASE_URL``, used by ``arcreg db upgrade``)
  owns every table, the append-only triggers and their function, and runs
  the migrations;
- the **runtime role** (``ARCREG_DATABASE_URL``, used by ``arcreg serve``, the
  jobs and the other commands) may only read and insert into the log tables
  and read and write the state tables the server writes. Disabling or
  dropping a trigger, ``ALTER``/``DROP``/``TRUNCATE`` of a table all need the
  owner; UPDATE and DELETE on the log tables are not granted at all, so they
  fail for want of a privilege before the trigger is ever reached.

``grant_runtime_role`` (run by ``arcreg db upgrade`` after every migration)
sets the runtime role's privileges to exactly ``runtime_privileges()``: it
revokes everything the role holds on the schema's tables and sequences, then
grants what the server needs, in one transaction (a running server never sees
a half-granted state). Running it twice changes nothing. The role itself is
created by the database administrator (it carries a password or another
authentication method the registry should not choose), see docs/decisions.md.

``runtime_role_problem`` is the start-up check: it says why the connected
role could tamper with the log (it is a superuser, owns an application table
or is a member of a role that does), or None.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from chainlog.schema import LOG_TABLES

#: Tables the server deletes rows from: the idempotency-key purge
#: (registry/idempotency.py) and a failed job run's claim (registry/jobs.py).
DELETING_TABLES = ("idempotency_record", "job_run")
#: Alembic's version table: the server reads it (start-up, `run-jobs`), only the owner writes it.
VERSION_TABLE = "alembic_version"

LOG_PRIVILEGES = ("SELECT", "INSERT")  # R-L8, R-L8b: the log is read and appended to, nothing else
STATE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE")
DELETING_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")


class RuntimeRoleError(Exception):
    """The runtime role is missing or could tamper with the log: no grants given."""


def application_tables() -> list[str]:
    """Every table the migrations create (the registry's and the log's)."""
    from registry.metadata import target_metadata

    return sorted({name for metadata in target_metadata() for name in metadata.tables})


def runtime_privileges() -> dict[str, tuple[str, ...]]:
    """Table -> the privileges the runtime role holds on it (R-L8b)."""
    out: dict[str, tuple[str, ...]] = {VERSION_TABLE: ("SELECT",)}
    for table in application_tables():
        if table in LOG_TABLES:
            out[table] = LOG_PRIVILEGES
        elif table in DELETING_TABLES:
            out[table] = DELETING_PRIVILEGES
        else:
            out[table] = STATE_PRIVILEGES
    return out


@dataclass(frozen=True)
class GrantReport:
    role: str
    tables: dict[str, tuple[str, ...]]
    sequences: tuple[str, ...]

    def summary(self) -> str:
        log = ", ".join(LOG_PRIVILEGES)
        return (f"runtime role {self.role}: {log} on the log tables ({', '.join(LOG_TABLES)}); "
                f"{len(self.tables) - len(LOG_TABLES)} other tables, {len(self.sequences)} sequences; "
                "owns nothing (R-L8b)")


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote_identifier(name)


def _role_facts(connection: Connection, role: str) -> dict | None:
    row = connection.execute(text(
        "SELECT rolsuper, rolcanlogin, pg_has_role(:role, current_user, 'MEMBER') AS member_of_owner "
        "FROM pg_roles WHERE rolname = :role"), {"role": role}).mappings().first()
    return dict(row) if row else None


def owned_tables(connection: Connection, role: str) -> list[str]:
    """Application tables (and sequences) in the current schema that ``role``
    owns or may act as the owner of (a member of the owning role)."""
    rows = connection.execute(text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'S', 'v', 'm') "
        "AND c.relname = ANY(:tables) AND pg_has_role(:role, c.relowner, 'MEMBER') ORDER BY c.relname"),
        {"role": role, "tables": [*application_tables(), VERSION_TABLE]}).scalars().all()
    return list(rows)


def _sequences_of(connection: Connection, tables: list[str]) -> list[str]:
    """Sequences behind the serial/identity columns of ``tables``."""
    return list(connection.execute(text(
        "SELECT DISTINCT s.relname FROM pg_class s "
        "JOIN pg_namespace n ON n.oid = s.relnamespace "
        "JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass "
        "AND d.refclassid = 'pg_class'::regclass "
        "JOIN pg_class t ON t.oid = d.refobjid "
        "WHERE s.relkind = 'S' AND n.nspname = current_schema() AND t.relname = ANY(:tables) "
        "ORDER BY s.relname"), {"tables": tables}).scalars().all())


def check_runtime_role(connection: Connection, role: str) -> None:
    """Raise RuntimeRoleError unless ``role`` exists, can log in and could not
    act as the owner of the registry's tables (R-L8b)."""
    facts = _role_facts(connection, role)
    if facts is None:
        raise RuntimeRoleError(
            f"the runtime role {role!r} does not exist; create it first, as a database administrator: "
            f"CREATE ROLE {_quote(connection, role)} LOGIN PASSWORD '…'")
    if facts["rolsuper"]:
        raise RuntimeRoleError(f"the runtime role {role!r} is a superuser: it could disable the log's "
                               "triggers (R-L8b); use a role that owns nothing")
    if facts["member_of_owner"]:
        raise RuntimeRoleError(f"the runtime role {role!r} is the owner role or a member of it: it could "
                               "disable the log's triggers (R-L8b); use a role that owns nothing")
    owned = owned_tables(connection, role)
    if owned:
        raise RuntimeRoleError(f"the runtime role {role!r} owns {', '.join(owned)}: it could disable the "
                               "log's triggers (R-L8b); transfer them to the owner role first")
    if not facts["rolcanlogin"]:
        raise RuntimeRoleError(f"the runtime role {role!r} cannot log in (ALTER ROLE … LOGIN)")


def grant_runtime_role(engine: Engine, role: str) -> GrantReport:
    """As the owner: give ``role`` exactly ``runtime_privileges()`` (R-L8b).

    Refuses (RuntimeRoleError) a role that does not exist, cannot log in, is
    a superuser, or owns (or may act as the owner of) an application table:
    such a role could disable the log's triggers whatever it is granted.
    Idempotent: revokes every privilege the role holds on the schema's tables
    and sequences, then grants, in one transaction.
    """
    with engine.begin() as connection:
        check_runtime_role(connection, role)
        owner = connection.execute(text("SELECT current_user")).scalar_one()
        missing = sorted(set(runtime_privileges()) - set(owned_tables(connection, owner)))
        if missing:  # a GRANT on them would only warn, leaving the runtime role short of privileges
            raise RuntimeRoleError(f"the owner URL's role {owner!r} does not own {', '.join(missing[:3])}"
                                   f"{', …' if len(missing) > 3 else ''}: migrate and grant as the tables' owner")
        quoted = _quote(connection, role)
        schema = _quote(connection, connection.execute(text("SELECT current_schema()")).scalar_one())
        connection.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {quoted}"))
        connection.execute(text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {quoted}"))
        connection.execute(text(f"REVOKE CREATE ON SCHEMA {schema} FROM {quoted}"))
        connection.execute(text(f"GRANT USAGE ON SCHEMA {schema} TO {quoted}"))
        privileges = runtime_privileges()
        for table, granted in privileges.items():
            connection.execute(text(f"GRANT {', '.join(granted)} ON TABLE {_quote(connection, table)} TO {quoted}"))
        # The log tables have no sequence (their keys are the log's own indexes); the state tables' serial keys do.
        sequences = _sequences_of(connection, [t for t in privileges if t not in LOG_TABLES])
        for sequence in sequences:
            connection.execute(text(f"GRANT USAGE ON SEQUENCE {_quote(connection, sequence)} TO {quoted}"))
    return GrantReport(role=role, tables=privileges, sequences=tuple(sequences))


def granted_privileges(connection: Connection, role: str) -> dict[str, tuple[str, ...]]:
    """What ``role`` holds on the current schema's tables and sequences, from the catalog."""
    rows = connection.execute(text(
        "SELECT c.relname, a.privilege_type FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "CROSS JOIN LATERAL aclexplode(c.relacl) a "
        "WHERE n.nspname = current_schema() AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = :role) "
        "ORDER BY c.relname, a.privilege_type"), {"role": role}).all()
    out: dict[str, list[str]] = {}
    for table, privilege in rows:
        out.setdefault(table, []).append(privilege)
    return {table: tuple(sorted(privs)) for table, privs in out.items()}


def runtime_role_problem(engine: Engine) -> str | None:
    """Start-up check (R-L8b): why the role this engine connects as could
    tamper with the log, or None (it owns nothing; always None on SQLite)."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as connection:
        role, superuser = connection.execute(text(
            "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")).one()
        if superuser:
            return f"the database role {role!r} is a superuser"
        owned = owned_tables(connection, role)
        if owned:
            return f"the database role {role!r} owns {len(owned)} of the registry's tables ({owned[0]}, …)"
    return None
