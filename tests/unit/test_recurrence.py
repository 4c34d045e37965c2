"""When the next occurrence of a repeating task is due."""

from datetime import date

from app.domain.tasks import next_due


def test_ticked_early_from_the_due_date_never_comes_before_its_own_due_date():
    # due 24 Dec, every 7 days, ticked 1 Dec: 31 Dec (not 8 Dec)
    assert next_due(date(2026, 12, 24), date(2026, 12, 1), 7, "due") == date(2026, 12, 31)


def test_from_when_done_counts_from_the_day_it_was_done():
    assert next_due(date(2026, 12, 24), date(2026, 12, 1), 7, "done") == date(2026, 12, 8)


def test_ticked_late_from_the_due_date_skips_to_the_next_date_of_the_schedule():
    assert next_due(date(2026, 12, 1), date(2026, 12, 20), 7, "due") == date(2026, 12, 22)
    assert next_due(date(2026, 12, 1), date(2026, 12, 8), 7, "due") == date(2026, 12, 15)


def test_without_a_due_date_it_counts_from_when_done():
    assert next_due(None, date(2026, 12, 1), 3, "due") == date(2026, 12, 4)
