import re

import pytest
from flask import Flask

from app.database import MAX_ID
from app.urls import numbers_up_to, query_int, register_converters


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, 1), ("3", 3), ("0", 1), ("-5", 1), ("9223372036854775807", 100), ("9" * 5000, 1), ("abc", 1), ("", 1)],
)
def test_query_int_keeps_a_page_number_within_its_bounds(raw, expected):
    args = {} if raw is None else {"page": raw}
    assert query_int(args, "page", 1, 1, 100) == expected


@pytest.mark.parametrize("limit", [9, 10, 305, 1000, MAX_ID])
def test_the_id_pattern_matches_exactly_one_to_the_limit(limit):
    pattern = re.compile(numbers_up_to(limit) + "$")
    for number in [*range(1200), limit - 1, limit, limit + 1, limit * 10]:
        assert bool(pattern.match(str(number))) == (1 <= number <= limit), number


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("path", [f"/things/{MAX_ID + 1}", "/things/0", "/things/-1", "/things/007", "/things/x"])
def test_an_id_out_of_range_is_404_for_every_method(method, path):
    app = Flask(__name__)
    register_converters(app)
    app.add_url_rule("/things/<int:thing_id>", "show", lambda thing_id: str(thing_id), methods=["GET"])
    app.add_url_rule("/things/<int:thing_id>", "change", lambda thing_id: str(thing_id), methods=["PUT"])

    assert app.test_client().open(path, method=method).status_code == 404
    assert app.test_client().open(f"/things/{MAX_ID}", method="GET").data == str(MAX_ID).encode()
