"""Engine settings per backend.

SQLite runs in WAL mode with a busy timeout on every connection. A deferred
transaction that reads and then writes can fail at once with "database is
locked" when another writer committed in between (the busy timeout cannot
help with that lock upgrade), so transactions start with BEGIN IMMEDIATE
unless the current context declared itself read-only: safe-method web
requests do, and they then never write.
"""

import contextvars
from contextlib import contextmanager

from sqlalchemy import event

SQLITE_BUSY_TIMEOUT_MS = 10_000

_read_only = contextvars.ContextVar("plantops_read_only", default=False)


def engine_options(database_uri):
    if database_uri.startswith("sqlite"):
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10, "pool_recycle": 1800}


def configure_engine(engine):
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql("BEGIN" if _read_only.get() else "BEGIN IMMEDIATE")


def set_read_only(value):
    """Declare that transactions started in this context will only read."""
    return _read_only.set(value)


@contextmanager
def read_only():
    token = _read_only.set(True)
    try:
        yield
    finally:
        _read_only.reset(token)
