"""The one clock of PlantOps: every "what time is it" in app/ asks `utcnow()`.

Tests move it with time-machine (which patches `datetime.now`), so a test about time passing
travels instead of sleeping. Monotonic durations (timeouts, batching) keep `time.monotonic`.
"""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current moment, timezone-aware UTC."""
    return datetime.now(UTC)
