"""The fault proof, small: gunicorn with 4 workers on PostgreSQL and a real broker; one worker
is killed and another stopped mid-stream; every reading is stored once and health stays 200.
`python -m bench.fault_proof` runs the full size (50,000 readings, 200 devices)."""

import importlib.util
import os

import pytest

from bench import fault_proof

pytestmark = [pytest.mark.slow, pytest.mark.database, pytest.mark.timeout(150)]  # reads DATABASE_URL itself


@pytest.fixture
def postgres_server():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql")):
        pytest.skip("runs in the PostgreSQL pass (DATABASE_URL=postgresql://...)")
    if importlib.util.find_spec("app.ingest.consumer") is None:
        pytest.skip("needs the MQTT consumer (app/ingest/consumer.py)")
    return url


def test_every_reading_is_stored_once_while_workers_crash_and_health_stays_200(postgres_server):
    figures = fault_proof.run(readings=4000, devices=40, workers=4, server_url=postgres_server, timeout=90, log=print)

    assert [name for name, _pid, _at in figures.killed] == ["SIGKILL", "SIGTERM"]
    assert figures.published == 4000
    assert figures.lost == 0
    assert figures.duplicated == 0
    assert len(figures.workers_after) == 4
    assert figures.restarted == 2
    assert figures.health_answers > 0
    assert figures.health_not_200 == 0
