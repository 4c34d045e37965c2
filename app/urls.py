"""Integers taken from URLs, bounded once for every route.

Every integer in a URL path is a row id, and ids are INTEGER columns: a larger number
makes PostgreSQL refuse the comparison and would be a 500. `IdConverter` replaces
Flask's `int` converter, so `<int:plant_id>` in any route, including ones added later,
matches only 1 to MAX_ID and anything else is a 404. Query integers such as `page` go
through `query_int`.
"""

from collections.abc import Mapping

from werkzeug.routing import IntegerConverter

from .database import MAX_ID

MAX_PAGE = 100_000  # far past any list, and keeps the OFFSET a small number


class IdConverter(IntegerConverter):
    def __init__(self, url_map, fixed_digits: int = 0, min: int = 1, max: int = MAX_ID, signed: bool = False) -> None:  # noqa: A002  (werkzeug's names)
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def register_converters(app) -> None:
    """Before any route is added: rules pick their converter when they are registered."""
    app.url_map.converters["int"] = IdConverter


def query_int(args: Mapping, name: str, default: int, low: int, high: int) -> int:
    """A whole-number query parameter kept within [low, high]; missing or not a number: `default`."""
    try:
        value = int(args.get(name, default))
    except (TypeError, ValueError):
        return default
    return min(max(low, value), high)
