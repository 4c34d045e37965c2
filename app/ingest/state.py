"""What this process's consumer reports about itself, for /api/health and /admin."""

import threading
import time
from collections import Counter
from dataclasses import dataclass, field


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
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def health(self):
        if not self.enabled:
            return {"status": "disabled", "last_message_age_s": None}
        age = None
        if self.last_message_monotonic is not None:
            age = round(time.monotonic() - self.last_message_monotonic, 1)
        return {"status": "connected" if self.connected else "disconnected", "last_message_age_s": age}
