"""What this process's consumer reports about itself, for /api/health and /admin."""

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

STALL_SECONDS = 60.0
# The consumer statuses /api/health reports as `degraded` (the web still serves).
DEGRADED_STATUSES = ("disconnected", "stalled")


@dataclass
class ConsumerState:
    enabled: bool = False
    connected: bool = False
    last_message_monotonic: float | None = None
    received: int = 0  # messages
    stored: int = 0  # readings inserted
    duplicates: int = 0  # readings already stored (redeliveries)
    batches: int = 0
    rejected: Counter = field(default_factory=Counter)
    unacknowledged: int = 0  # messages taken from the broker whose batch is not yet committed
    # When the writer last moved: its last commit, or when a message arrived to an idle writer.
    progress_monotonic: float | None = None
    stall_seconds: float = STALL_SECONDS  # INGEST_STALL_SECONDS
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def took(self) -> float:
        """Count a message taken from the broker; returns the clock's reading."""
        now = self.clock()
        with self.lock:
            self.received += 1
            self.last_message_monotonic = now
            if self.unacknowledged == 0:
                self.progress_monotonic = now
            self.unacknowledged += 1
        return now

    def settled(self, messages: int) -> None:
        """`messages` taken messages are done with: committed and acknowledged, or given back."""
        now = self.clock()
        with self.lock:
            self.unacknowledged = max(0, self.unacknowledged - messages)
            self.progress_monotonic = now

    def writer_stalled(self) -> bool:
        """Messages wait while the writer has not committed for longer than `stall_seconds`."""
        with self.lock:
            waiting, since = self.unacknowledged, self.progress_monotonic
        return waiting > 0 and since is not None and self.clock() - since > self.stall_seconds

    def health(self) -> dict:
        """{"status": disabled | disconnected | stalled | connected, "last_message_age_s"}."""
        if not self.enabled:
            return {"status": "disabled", "last_message_age_s": None}
        age = None
        if self.last_message_monotonic is not None:
            age = round(self.clock() - self.last_message_monotonic, 1)
        if not self.connected:
            status = "disconnected"
        elif self.writer_stalled():
            status = "stalled"
        else:
            status = "connected"
        return {"status": status, "last_message_age_s": age}
