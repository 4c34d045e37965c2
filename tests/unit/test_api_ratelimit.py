import pytest

from app.api.v1.ratelimit import DatabaseCounter, SharedStoreCounter, make_counter
from app.config import ConfigError, load_settings


def test_a_shared_store_counts_through_limits_and_peek_does_not_count():
    counter = SharedStoreCounter("memory://")
    assert counter.hit("a", 2, 60) == (True, 0)
    assert counter.peek("a", 2, 60) == (True, 0)
    assert counter.hit("a", 2, 60) == (True, 0)
    allowed, seconds_left = counter.peek("a", 2, 60)
    assert allowed is False
    assert 0 < seconds_left <= 61
    assert counter.hit("a", 2, 60)[0] is False
    assert counter.hit("b", 2, 60) == (True, 0)


def test_without_a_storage_uri_the_database_counts():
    assert isinstance(make_counter(None), DatabaseCounter)
    assert isinstance(make_counter("redis://127.0.0.1:6379"), SharedStoreCounter)


@pytest.mark.parametrize("uri", ["memory://", "memory://?x=1"])
def test_per_process_memory_storage_is_refused_with_one_line(tmp_path, uri):
    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI=memory:// would count per process"):
        load_settings({"RATELIMIT_STORAGE_URI": uri}, tmp_path)


def test_the_database_is_the_default_storage(tmp_path):
    assert load_settings({}, tmp_path)["RATELIMIT_STORAGE_URI"] is None
