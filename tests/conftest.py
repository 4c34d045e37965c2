"""Fixtures shared by every test.

The database is real: SQLite in a temporary file, or, when DATABASE_URL names a
PostgreSQL server, a fresh database created on it for this test session (so
parallel sessions never share tables) and dropped afterwards. The schema is
built once per session from the migrations; each test then starts from empty
tables.

Never hold an app context open across client requests: the request would reuse
it and its database session. Check the database in its own
`with app.app_context():` block.
"""

import functools
import gc
import os
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import jinja2
import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, make_url, text
from werkzeug.routing import Rule

from app import create_app
from app.auth import users
from app.config import database_url, new_encryption_key
from app.extensions import db
from app.models import User

from .fixtures.browser import browser, page  # noqa: F401  (fixtures)
from .fixtures.netns import hosts  # noqa: F401  (fixture)
from .fixtures.readings import readings  # noqa: F401  (fixture)
from .fixtures.services import (  # noqa: F401  (fixtures)
    drip_server,
    live_server,
    mosquitto,
    recording_server,
    silent_server,
)

TEST_SECRET_KEY = "test-secret-key-not-for-production"
TEST_ENCRYPTION_KEY = "q0vJ2bO0m8m2cX8oVn3Q5q3wJYp9b7s4ZmQyQ1d3X2U="
PASSWORD = "correct horse battery"
PRODUCTION_SECRET_KEY = secrets.token_urlsafe(48)
PRODUCTION_ENCRYPTION_KEY = new_encryption_key()


def is_postgres(url):
    return str(url).startswith("postgresql")


def pytest_collection_finish(session):
    """The modules, the route map and the collected tests live as long as the session: moved out
    of the collector's view (gc.freeze), and collections run less often. Each test builds and
    drops whole apps, and the default thresholds had Python walk the heap every few hundred
    objects (about a fifth of a test's CPU on the access walk)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


class TemplateBytecode(jinja2.BytecodeCache):
    """Compiled templates shared by every app of the session (jinja's cache is per app, and each
    test's fresh app compiled every template it rendered again). Keyed by template name and a
    checksum of its source, as jinja's own bytecode caches are."""

    def __init__(self):
        self.codes = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.codes:
            bucket.bytecode_from_string(self.codes[bucket.key])

    def dump_bytecode(self, bucket):
        self.codes[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_BYTECODE = TemplateBytecode()


@pytest.hookimpl(tryfirst=True)  # before -m selects by marks
def pytest_collection_modifyitems(items):
    """Mark `database` every test that sees the database DATABASE_URL names: through the
    `database_uri` fixture (app, client, make_app... all reach it). A test that reads DATABASE_URL
    itself carries the mark explicitly. The rest (parsing, pure domain code, apps on a SQLite
    file of their own) are the same on every database: `make test` runs them in the SQLite pass
    only, and the PostgreSQL pass selects `-m database`."""
    for item in items:
        if "database_uri" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.database)
        elif reads_database_url(item) and item.get_closest_marker("database") is None:
            raise pytest.UsageError(f"{item.nodeid} reads DATABASE_URL itself: mark it `database`")


def reads_database_url(item):
    """Whether the test's module reads DATABASE_URL (outside this file, which hands it out)."""
    path = getattr(getattr(item, "module", None), "__file__", None)
    return path is not None and path != __file__ and module_reads_database_url(path)


@functools.cache
def module_reads_database_url(path):
    with open(path, encoding="utf-8") as source:
        return 'environ.get("DATABASE_URL"' in source.read()


@pytest.fixture(scope="session")
def database_uri(tmp_path_factory):
    base = os.environ.get("DATABASE_URL")
    if not base or not base.startswith(("postgres://", "postgresql")):
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'plantops-test.db'}"
        return
    server = make_url(database_url(base))
    name = f"plantops_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def instance_path(tmp_path_factory):
    return tmp_path_factory.mktemp("instance")


def test_env(database_uri, **extra):
    """The whole environment a test app sees (nothing leaks in from the machine)."""
    env = {
        "PLANTOPS_ENV": "testing",
        "SECRET_KEY": TEST_SECRET_KEY,
        "ENCRYPTION_KEY": TEST_ENCRYPTION_KEY,
        "DATABASE_URL": database_uri,
        "MQTT_ENABLED": "false",
        "LOG_LEVEL": "DEBUG",
    }
    if extra.get("PLANTOPS_ENV") == "production":  # production refuses the published test keys
        env.update(SECRET_KEY=PRODUCTION_SECRET_KEY, ENCRYPTION_KEY=PRODUCTION_ENCRYPTION_KEY)
    env.update({k: str(v) for k, v in extra.items()})
    return env


@pytest.fixture(scope="session")
def migrated(database_uri, instance_path):
    """Build the schema from the migrations, once per session."""
    app = create_app({"ENV": test_env(database_uri), "INSTANCE_PATH": instance_path, "TESTING": True})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return database_uri


@pytest.fixture
def make_app(migrated, instance_path):
    """Build an app on the test database; keyword arguments are environment settings,
    `config=` overrides config keys. Tables are emptied after the test."""
    apps = []

    def factory(config=None, **env):
        test_config = {
            "ENV": test_env(migrated, **env),
            "INSTANCE_PATH": instance_path,
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
        }
        test_config.update(config or {})
        app = create_app(test_config)
        app.jinja_env.bytecode_cache = TEMPLATE_BYTECODE
        apps.append(app)
        return app

    yield factory
    on_test_db = [a for a in apps if a.config["SQLALCHEMY_DATABASE_URI"] == database_url(migrated)]
    if on_test_db:
        with on_test_db[0].app_context():
            empty_tables()
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def empty_tables():
    """Delete every row and restart the ids. On PostgreSQL a DELETE of a test's few rows
    costs a fraction of a TRUNCATE, which rewrites every table (about 110 ms a test)."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    if is_postgres(db.engine.url):
        db.session.execute(
            text(
                "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind = 'S' AND n.nspname = current_schema()"
            )
        )
    db.session.commit()


@pytest.fixture
def clock(time_machine):
    """The clock (time-machine) from the real now, ticking on: `clock.shift(timedelta(...))`
    moves every `datetime.now`, `app.clock.utcnow()` and `time.time()`, in every thread, instead
    of sleeping until time has passed. `time.monotonic()` (timeouts, batching) is left alone."""
    time_machine.move_to(datetime.now(UTC), tick=True)
    return time_machine


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class HtmxClient:
    """A test client that sends HX-Request on every call, as htmx does."""

    def __init__(self, client):
        self.client = client

    def __getattr__(self, method):
        call = getattr(self.client, method)

        def with_header(*args, headers=None, **kwargs):
            return call(*args, headers={"HX-Request": "true", **(headers or {})}, **kwargs)

        return with_header


@pytest.fixture
def htmx(client):
    return HtmxClient(client)


# scrypt at N=2**10 instead of 2**15: a hash or check costs about 3 ms instead of 90, and a
# sign-in is part of nearly every test. tests/unit/test_passwords.py checks the real cost.
TEST_PASSWORD_METHOD = "scrypt:1024:8:1"


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes():
    with mock.patch.object(users, "PASSWORD_METHOD", TEST_PASSWORD_METHOD):
        yield


# A fresh app per test builds werkzeug's URL builders again for its ~100 routes: Python source that
# werkzeug generates and compiles, two functions a route, about two thirds of create_app's time.
# A builder depends only on its rule (the rule text, its parsed parts, its defaults and
# converters' types); everything else it reads from the rule it is bound to when called. So the
# session compiles each one once. PLANTOPS_TEST_FRESH_URL_BUILDERS=1 turns this off.
@pytest.fixture(scope="session", autouse=True)
def url_builders_compiled_once():
    if os.environ.get("PLANTOPS_TEST_FRESH_URL_BUILDERS") == "1":
        yield
        return
    compile_builder = Rule._compile_builder
    builders = {}

    def cached(rule, append_unknown=True):
        key = (
            rule.rule,
            tuple(rule._trace),
            repr(sorted((rule.defaults or {}).items())),
            tuple((name, type(converter)) for name, converter in rule._converters.items()),
            append_unknown,
        )
        if key not in builders:
            builders[key] = compile_builder(rule, append_unknown)
        return builders[key]

    with mock.patch.object(Rule, "_compile_builder", cached):
        yield


@functools.cache
def password_hash(password: str, hash_password=users.hash_password) -> str:
    """One hash per password per test session."""
    return hash_password(password)


def make_user(app: Flask, email: str = "gardener@example.com", password: str = PASSWORD, **fields: Any) -> int:
    """Create a user straight in the database (with `create_user`) and return its id."""
    with app.app_context(), mock.patch.object(users, "hash_password", password_hash):
        user = users.create_user(email, password)
        for name, value in fields.items():
            setattr(user, name, value)
        db.session.commit()
        return user.id


class AuthActions:
    def __init__(self, app, client):
        self.app = app
        self.client = client

    def register(self, email="gardener@example.com", password=PASSWORD):
        return self.client.post("/auth/register", data={"email": email, "password": password})

    def login(self, email="gardener@example.com", password=PASSWORD):
        return self.client.post("/auth/login", data={"email": email, "password": password})

    def logout(self):
        return self.client.post("/auth/logout")

    def user(self, email="gardener@example.com"):
        with self.app.app_context():
            return db.session.scalar(db.select(User).where(User.email == email))


@pytest.fixture
def auth(app, client):
    return AuthActions(app, client)


@pytest.fixture
def user_id(app, auth):
    """A signed-in gardener; returns their id."""
    uid = make_user(app)
    response = auth.login()
    assert response.status_code == 303, response.data
    return uid


@pytest.fixture
def other_client(app):
    """A second, signed-in gardener with a client of their own (for isolation tests)."""
    make_user(app, email="other@example.com")
    other = app.test_client()
    assert AuthActions(app, other).login(email="other@example.com").status_code == 303
    return other
