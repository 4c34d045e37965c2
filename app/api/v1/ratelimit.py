"""Per-token request limits: a fixed window per key.

`memory://` (the default) counts in this process with a lock and no helper
thread; any other RATELIMIT_STORAGE_URI (redis://, memcached://, ...) goes
through the `limits` library, so several processes or hosts share one count.
"""

import threading
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

WINDOW_SECONDS = 60


class InProcessWindow:
    """Counts per key in the current minute; old windows are dropped as they pass."""

    def __init__(self, limit):
        self.limit = limit
        self.lock = threading.Lock()
        self.window = None
        self.counts = {}

    def hit(self, key, now=None):
        """(allowed, seconds until the window ends)."""
        now = time.time() if now is None else now
        window = int(now // WINDOW_SECONDS)
        with self.lock:
            if window != self.window:
                self.window, self.counts = window, {}
            count = self.counts[key] = self.counts.get(key, 0) + 1
        return count <= self.limit, (window + 1) * WINDOW_SECONDS - now


class SharedWindow:
    def __init__(self, limit, storage_uri):
        self.limiter = FixedWindowRateLimiter(storage_from_string(storage_uri))
        self.item = parse(f"{limit}/minute")

    def hit(self, key):
        if self.limiter.hit(self.item, "api-v1", key):
            return True, 0
        return False, self.limiter.get_window_stats(self.item, "api-v1", key).reset_time - time.time()


def make_limiter(limit, storage_uri):
    if storage_uri.startswith("memory://"):
        return InProcessWindow(limit)
    return SharedWindow(limit, storage_uri)
