from datetime import UTC, datetime, timedelta

from app import throttle
from app.extensions import db

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_counts_up_to_the_limit_then_refuses_with_retry_after(app):
    with app.app_context():
        decisions = [throttle.hit("login:ip:1.2.3.4", 3, 60, now=NOW) for _ in range(4)]
        db.session.commit()
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert decisions[-1].count == 4
    assert decisions[-1].retry_after == 60


def test_window_expiry_starts_a_new_count(app):
    with app.app_context():
        for _ in range(5):
            throttle.hit("k", 3, 60, now=NOW)
        later = throttle.hit("k", 3, 60, now=NOW + timedelta(seconds=61))
        db.session.commit()
    assert later.allowed
    assert later.count == 1


def test_peek_does_not_count_and_reset_clears(app):
    with app.app_context():
        throttle.hit("k", 2, 60, now=NOW)
        throttle.hit("k", 2, 60, now=NOW)
        assert throttle.peek("k", 2, now=NOW).allowed is False
        assert throttle.peek("k", 2, now=NOW).count == 2
        throttle.reset("k")
        assert throttle.peek("k", 2, now=NOW).allowed is True
        assert throttle.peek("other", 2, now=NOW).allowed is True
