"""Engine settings per backend, and every SQL difference between SQLite and PostgreSQL.

Callers ask this module (`is_postgresql`, `insert`, `epoch_seconds`, ...) instead of
comparing dialect names themselves, so a new backend difference has one home.

Every connection is bounded in time: PostgreSQL connections have a connect timeout
and a statement timeout, SQLite ones a busy timeout, and waiting for a pooled
connection has a timeout too, so a database that accepts connections and never
answers costs a request seconds, not a thread forever.

SQLite runs in WAL mode with a busy timeout on every connection. A deferred
transaction that reads and then writes can fail at once with "database is
locked" when another writer committed in between (the busy timeout cannot
help with that lock upgrade), so transactions start with BEGIN IMMEDIATE
unless the current context declared itself read-only: safe-method web
requests do, and they then never write.
"""

import contextvars
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ARRAY, JSON, Integer, Numeric, Text, bindparam, cast, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.expression import ColumnElement

from .domain.types import DbSession

POSTGRESQL = "postgresql"
SQLITE = "sqlite"
# Row ids are INTEGER columns on both backends; PostgreSQL refuses to compare a larger number to one.
MAX_ID = 2**31 - 1

_read_only = contextvars.ContextVar("plantops_read_only", default=False)


def engine_options(database_uri: str, settings: Mapping[str, Any]) -> dict:
    """Engine options for `database_uri` with the DATABASE_*_TIMEOUT seconds of `settings`."""
    if database_uri.startswith(SQLITE):
        return {"connect_args": {"timeout": settings["DATABASE_BUSY_TIMEOUT"], "check_same_thread": False}}
    statement_ms = int(settings["DATABASE_STATEMENT_TIMEOUT"] * 1000)
    return {
        "connect_args": {
            "connect_timeout": settings["DATABASE_CONNECT_TIMEOUT"],
            "options": f"-c statement_timeout={statement_ms}",
        },
        "pool_pre_ping": True,
        "pool_size": 10,
        "max_overflow": 10,
        "pool_recycle": 1800,
        "pool_timeout": settings["DATABASE_POOL_TIMEOUT"],
    }


def configure_engine(engine: Engine, busy_timeout_seconds: float) -> None:
    if engine.dialect.name != SQLITE:
        return

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_seconds * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN" if _read_only.get() else "BEGIN IMMEDIATE")


def without_statement_timeout(connection: Connection) -> None:
    """Lift the statement timeout for this connection (migrations may rebuild large tables)."""
    if connection.dialect.name == POSTGRESQL:
        connection.exec_driver_sql("SET statement_timeout = 0")
        connection.commit()  # a session setting; the caller's transactions start after it


@contextmanager
def for_migrations(connection: Connection) -> Iterator[None]:
    """Set a connection up for migrations: no statement timeout on PostgreSQL; on SQLite no
    foreign key enforcement while they run, so a batch migration that rebuilds a table
    (copy, drop, rename) does not cascade the drop to the rows that reference it. SQLite
    only changes the setting outside a transaction: before and after the migrations'."""
    without_statement_timeout(connection)
    sqlite = connection.dialect.name == SQLITE
    if sqlite:  # on the driver's connection: SQLAlchemy's would BEGIN first (configure_engine)
        connection.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
    try:
        yield
    finally:
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys = ON")  # type: ignore[union-attr]


def set_read_only(value: bool) -> contextvars.Token[bool]:
    """Declare that transactions started in this context will only read."""
    return _read_only.set(value)


@contextmanager
def read_only() -> Iterator[None]:
    token = _read_only.set(True)
    try:
        yield
    finally:
        _read_only.reset(token)


# SQL that differs between the backends. Functions taking a `dialect_name` serve
# statements built once per backend and cached; the others take the session they serve.


def dialect_name(session: DbSession) -> str:
    return session.get_bind().dialect.name


def is_postgresql(session: DbSession) -> bool:
    return dialect_name(session) == POSTGRESQL


def has_single_writer(session: DbSession) -> bool:
    """SQLite has one write lock for the whole database; PostgreSQL locks rows."""
    return dialect_name(session) == SQLITE


def sqlite_executemany(session: DbSession, statement: str, rows: list[tuple]) -> int:
    """SQLite only: one statement for every row of `rows`, on the driver's cursor of the
    session's connection (in its transaction), without SQLAlchemy's per-row parameter
    processing; returns the rows changed. The ingest writer's hot statements, the SQLite
    counterpart of its PostgreSQL unnest statements. Times go in as `sqlite_time` gives them."""
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(statement, rows)
        return int(cursor.rowcount)
    finally:
        cursor.close()


def sqlite_time(moment: datetime | None) -> str | None:
    """An aware datetime as SQLAlchemy's SQLite DateTime stores it (naive UTC text)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def pg_array_text(values: list[Any]) -> str:
    """A PostgreSQL array literal of numbers and aware or naive UTC datetimes (None = NULL), to
    bind as text and CAST to its array type in the statement: psycopg dumps a list element by
    element (a regular-expression check each), which costs a 500-reading batch more than its
    insert; numbers and ISO times need no quoting but for the time's space."""
    kinds = set(map(type, values))
    if kinds <= _NUMBER_TYPES:  # the writer's columns, as a rule: one pass in C (bool is not int here)
        return "{" + ",".join(["NULL" if value is None else repr(value) for value in values]) + "}"
    items = []
    for value in values:
        if value is None:
            items.append("NULL")
        elif isinstance(value, datetime):
            if value.tzinfo is not None:
                value = (value if value.tzinfo is UTC else value.astimezone(UTC)).replace(tzinfo=None)
            items.append(f'"{value}"')
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"pg_array_text takes numbers and datetimes, not {type(value).__name__}")
        else:
            items.append(repr(value))
    return "{" + ",".join(items) + "}"


_NUMBER_TYPES = frozenset((int, float, type(None)))


def insert(session: DbSession, table: Any) -> postgresql.Insert | sqlite.Insert:
    """The backend's INSERT, which has on_conflict_do_nothing() and on_conflict_do_update()."""
    return insert_for(dialect_name(session), table)


def insert_for(dialect: str, table: Any) -> postgresql.Insert | sqlite.Insert:
    """`insert()` for a statement built once per backend and cached."""
    return (postgresql.insert if dialect == POSTGRESQL else sqlite.insert)(table)


def epoch_seconds(column, dialect: str, exact: bool = True) -> ColumnElement:
    """Unix seconds of a UTC datetime column, in SQL. PostgreSQL's extract() is an exact
    numeric; `exact=False` asks for a double instead, cheaper to fetch."""
    if dialect == SQLITE:
        return (func.julianday(column) - 2440587.5) * 86400.0
    return func.extract("epoch", column) if exact else func.date_part("epoch", column)


def floor_int(expression, dialect: str) -> ColumnElement:
    if dialect == SQLITE:  # values here are never negative: CAST truncates, which is floor
        return cast(expression, Integer)
    return cast(func.floor(expression), Integer)


def round_to(expression, digits: int, dialect: str) -> ColumnElement:
    """round() of a float; PostgreSQL rounds to digits only numerics."""
    if dialect == POSTGRESQL:
        return func.round(cast(expression, Numeric), digits)
    return func.round(expression, digits)


def hour_start(column, dialect: str) -> ColumnElement:
    """The start of the hour of a stored UTC datetime, in the form the column stores."""
    if dialect == POSTGRESQL:
        return func.date_trunc("hour", column)
    return func.strftime("%Y-%m-%d %H:00:00.000000", column)  # stored as "YYYY-MM-DD HH:MM:SS.ffffff"


def parsed_json(column, dialect: str) -> ColumnElement:
    """A JSON column to read several values from: PostgreSQL's json is text, parsed again for
    every value read, unless cast to jsonb once per row."""
    return cast(column, postgresql.JSONB) if dialect == POSTGRESQL else column


def json_object(dialect: str, *pairs) -> ColumnElement:
    """A JSON object of alternating keys and values."""
    return (func.jsonb_build_object if dialect == POSTGRESQL else func.json_object)(*pairs)


def json_object_without_nulls(dialect: str, *pairs) -> ColumnElement:
    """A JSON object of alternating keys and values, leaving out the keys whose value is NULL."""
    if dialect == POSTGRESQL:
        return cast(func.jsonb_strip_nulls(func.jsonb_build_object(*pairs)), JSON)
    return func.json_patch("{}", func.json_object(*pairs), type_=JSON)  # json_patch drops null members


def equals_any(column, name: str, values: list, item_type, session: DbSession) -> ColumnElement:
    """`column IN values`. On PostgreSQL one array parameter `name`: psycopg re-parses a
    query with hundreds of placeholders every time (integers go as one array literal, see
    pg_array_text). The literal is unnested in a subquery, parsed once per statement:
    `= ANY(CAST(:p AS integer[]))` in a scan's filter parses it again for every row scanned
    (array_in is not immutable), 130 ms for 3,000 rows against 500 ids."""
    if is_postgresql(session):
        if item_type is Integer:
            ids = cast(bindparam(name, pg_array_text(list(values)), type_=Text), ARRAY(Integer))
            return column.in_(select(func.unnest(ids)))
        return column == func.any(bindparam(name, values, type_=ARRAY(item_type)))
    return column.in_(values)
