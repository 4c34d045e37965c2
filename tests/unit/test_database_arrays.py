"""database.pg_array_text: the writer's PostgreSQL arrays as one literal each."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.database import pg_array_text


def test_numbers_times_and_nulls_make_an_array_literal():
    assert pg_array_text([1, None, 2.5, 1e-05, -3.0]) == "{1,NULL,2.5,1e-05,-3.0}"
    aware = datetime(2026, 12, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))
    naive = datetime(2026, 12, 2, 1, 4, 5)
    assert pg_array_text([aware, naive, None]) == '{"2026-12-02 01:04:05.678901","2026-12-02 01:04:05",NULL}'
    assert pg_array_text([]) == "{}"
    assert pg_array_text([datetime(2026, 1, 1, tzinfo=UTC)]) == '{"2026-01-01 00:00:00"}'


@pytest.mark.parametrize("value", ["1}", True, b"x"])
def test_anything_else_is_refused(value):
    with pytest.raises(TypeError):
        pg_array_text([value])
