"""Types the domain's signatures share."""

from typing import Any, TypeAlias

from sqlalchemy.orm import Session, scoped_session

# A plain session (workers, tests) or Flask-SQLAlchemy's `db.session`, which proxies one.
DbSession: TypeAlias = Session | scoped_session[Any]
