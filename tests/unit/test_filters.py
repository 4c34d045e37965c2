from datetime import UTC, datetime, timedelta

import pytest

from app.filters import ago

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=10), "just now"),
        (timedelta(minutes=3), "3 min ago"),
        (timedelta(minutes=59), "59 min ago"),
        (timedelta(hours=2, minutes=5), "2 h ago"),
        (timedelta(days=1, hours=1), "1 day ago"),
        (timedelta(days=4), "4 days ago"),
    ],
)
def test_ago_reads_naturally(delta, text):
    assert ago(NOW - delta, now=NOW) == text


def test_ago_of_nothing_is_never():
    assert ago(None) == "never"
