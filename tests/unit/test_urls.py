import pytest

from app.urls import query_int


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, 1), ("3", 3), ("0", 1), ("-5", 1), ("9223372036854775807", 100), ("9" * 5000, 1), ("abc", 1), ("", 1)],
)
def test_query_int_keeps_a_page_number_within_its_bounds(raw, expected):
    args = {} if raw is None else {"page": raw}
    assert query_int(args, "page", 1, 1, 100) == expected
