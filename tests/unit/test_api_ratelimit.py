import pytest

from app.api.v1.ratelimit import InProcessWindow, SharedWindow, make_limiter


def test_in_process_window_counts_per_key_and_resets_each_minute():
    window = InProcessWindow(2)
    assert window.hit("a", now=600.0) == (True, 60.0)
    assert window.hit("a", now=610.0)[0] is True
    assert window.hit("a", now=630.0) == (False, 30.0)
    assert window.hit("b", now=630.0)[0] is True
    assert window.hit("a", now=660.0)[0] is True  # the next minute


def test_shared_storage_goes_through_limits():
    window = SharedWindow(1, "memory://")
    assert window.hit("a") == (True, 0)
    allowed, seconds_left = window.hit("a")
    assert allowed is False
    assert 0 < seconds_left <= 60


@pytest.mark.parametrize(("uri", "kind"), [("memory://", InProcessWindow), ("memory://?x=1", InProcessWindow)])
def test_memory_storage_counts_in_process(uri, kind):
    assert isinstance(make_limiter(5, uri), kind)
