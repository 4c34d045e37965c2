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


def numbers_up_to(limit: int) -> str:
    """A regular expression for the decimal numbers 1 to `limit`, without leading zeros."""
    digits = str(limit)
    width = len(digits)
    choices = [rf"[1-9]\d{{0,{width - 2}}}"] if width > 1 else []
    for position, digit in enumerate(map(int, digits)):
        lowest = 1 if position == 0 else 0
        if digit > lowest:
            choices.append(rf"{digits[:position]}[{lowest}-{digit - 1}]\d{{{width - position - 1}}}")
    choices.append(digits)
    return "(?:" + "|".join(choices) + ")"


class IdConverter(IntegerConverter):
    """Ids 1 to MAX_ID; a rule's own arguments (`<int(max=9):x>`) do not apply. The range is
    in the pattern, not only in to_python: werkzeug answers 405 rather than 404 when a
    converter refuses a path that another method's rule would have taken."""

    regex = numbers_up_to(MAX_ID)

    def __init__(self, url_map, *args, **kwargs) -> None:
        super().__init__(url_map, min=1, max=MAX_ID)


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
