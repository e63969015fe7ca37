"""Database engines and the unit of work.

Services never commit: they receive a ``UnitOfWork`` and the outermost layer
(an HTTP request or a CLI command) calls ``commit()``. Leaving the ``with``
block without committing rolls everything back, so a rule violation anywhere
undoes both the state change and its log entry (R-X3, DESIGN).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from registry.clock import Clock


def make_engine(url: str, **kwargs) -> Engine:
    """An engine with the per-dialect settings the registry relies on."""
    # Bound values (token hashes, stored responses) never reach a log line or an error message.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not pysqlite, decide when a transaction begins, so
        # that the BEGIN below is the one that runs.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # R-T4 on SQLite: take the write lock when the transaction starts, so
        # two writers are serialised instead of one failing half way with
        # "database is locked" after both have read the same balance.
        # R-X6: a read-only unit of work (`read_only`) begins DEFERRED instead:
        # under WAL it reads a snapshot and holds no lock a writer waits on.
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


#: Execution option marking an engine whose transactions only read (R-X6).
READ_ONLY = "arcreg_read_only"


def read_only(engine: Engine) -> Engine:
    """The same engine (same pool) for transactions that never write (R-X6):
    on SQLite they begin DEFERRED, so a long read (a deep provenance proof)
    holds no write lock; on PostgreSQL a plain transaction already takes none.
    A read-only transaction must not write: on SQLite a write would fail."""
    return engine.execution_options(**{READ_ONLY: True})


def read_write(engine: Engine) -> Engine:
    """The engine for writing transactions, from either form of it."""
    return engine.execution_options(**{READ_ONLY: False})


def is_postgres(engine_or_session) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "postgresql"


def database_reachable(engine: Engine) -> tuple[bool, str | None]:
    """(True, None) when a trivial query succeeds, else (False, the reason)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True, None
    except Exception as exc:  # any driver error means "not reachable"
        return False, str(exc).splitlines()[0]


class UnitOfWork:
    """One database transaction, rolled back unless ``commit()`` is called.

    Usage::

        with UnitOfWork(session_factory, clock) as uow:
            result = service(uow, ...)
            uow.commit()
    """

    def __init__(self, session_factory: Callable[[], Session], clock: Clock) -> None:
        self._session_factory = session_factory
        self.clock = clock
        self.session: Session | None = None
        self.committed = False
        self._open = False

    def __enter__(self) -> UnitOfWork:
        # Entering a unit of work that is already open continues it (the API
        # hands the transaction that authenticated a write on to its handler).
        if not self._open:
            self.session = self._session_factory()
            self.committed = False
            self._open = True
        return self

    def __exit__(self, *exc_info) -> None:
        # Anything not committed is undone, whether we got here by an
        # exception or by simply forgetting to commit.
        self._open = False
        # Closing rolls back: the connection goes back to the pool, which resets it
        # (one rollback, not two; nothing to send after a read on PostgreSQL).
        self.session.close()

    def commit(self) -> None:
        self.session.commit()
        self.committed = True

    def flush(self) -> None:
        self.session.flush()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: results are serialised after the commit.
    return sessionmaker(bind=engine, class_=Session, expire_on_commit=False, autoflush=True)


#: R-X5: an exclusive row lock is PostgreSQL's ``FOR NO KEY UPDATE``: it
#: excludes every other writer of the row (and ``FOR SHARE``), but not the
#: ``FOR KEY SHARE`` that a foreign-key check of an inserted row takes. No
#: write changes a primary key, and with ``FOR UPDATE`` a writer holding the
#: log's append lock and inserting a block that names a lot, determination
#: or participant would wait for whoever holds that row while waiting for
#: the log lock: a deadlock (registry.lockorder).
EXCLUSIVE_ROW = {"key_share": True}


def get_for_update(session: Session, model, key, *, lock: bool = True):
    """``session.get`` under a row lock (R-T4) — re-reading the row even when
    the session already holds it: a row loaded before the lock was taken may
    be stale by the time we own the lock, and acting on it would undo a
    concurrent commit. Participant rows are locked through
    ``registry.lockorder`` instead (they come first, R-X5)."""
    if not lock:
        return session.get(model, key)
    return session.get(model, key, with_for_update=EXCLUSIVE_ROW, populate_existing=True)


def for_update(query):
    """A SELECT that locks its rows and refreshes them (see get_for_update)."""
    return query.with_for_update(**EXCLUSIVE_ROW).execution_options(populate_existing=True)
