from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.filters import ago, day, localtime

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


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (date(2026, 11, 1), "Sun 1 Nov"),
        (date(2026, 1, 31), "Sat 31 Jan"),
        (date(2027, 1, 3), "Sun 3 Jan 2027"),
        (date(2025, 12, 31), "Wed 31 Dec 2025"),
    ],
)
def test_day_shows_the_year_only_when_it_is_not_this_one(value, text):
    assert day(value, today=date(2026, 11, 22)) == text


def test_day_without_today_has_no_year():
    assert day(date(2031, 5, 6)) == "Tue 6 May"


def test_localtime_in_a_given_zone():
    assert localtime(NOW, "%-d %b %H:%M", ZoneInfo("Pacific/Auckland")) == "23 Nov 01:00"
    assert localtime(None) == ""
