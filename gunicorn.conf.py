"""gunicorn settings for PlantOps (`make prod`, the systemd unit, the container).

Every setting comes from the environment, so one file serves every host:

| variable | default | meaning |
| --- | --- | --- |
| `BIND` | `0.0.0.0:$PORT` | address to listen on (`unix:/run/plantops.sock` works too) |
| `PORT` | `8000` | port when `BIND` is unset |
| `WEB_CONCURRENCY` | 2 x cores | worker processes |
| `GUNICORN_THREADS` | `4` | threads per worker (gthread) |
| `GUNICORN_TIMEOUT` | `30` | seconds a silent worker lives before the master kills it |
| `GUNICORN_GRACEFUL_TIMEOUT` | `30` | seconds a worker has on SIGTERM to finish requests and flush ingestion |
| `GUNICORN_MAX_REQUESTS` | `0` | recycle a worker after this many requests, plus up to half as many again (0: never) |
| `GUNICORN_KEEPALIVE` | `0` | seconds an idle connection stays open; 0: one request per connection (see below) |
| `LOG_FORMAT` | `text` | `json`: the app writes one JSON line per request instead of gunicorn's access log |

Behind a load balancer the client's address and scheme come from the app's
`TRUSTED_PROXY_HOPS` (werkzeug's ProxyFix), not from gunicorn's `forwarded_allow_ips`,
which never changes the address the app sees.

The app is loaded in each worker after the fork, never in the master
(`preload_app` stays off): the MQTT consumer, the batch writer and the notifier
are threads, and threads started before a fork do not exist in the children.
Each worker starts its own once the app is loaded (`post_worker_init`) and the
broker splits the stream between them (shared subscription). On SIGTERM, on a
`max_requests` recycle or on SIGQUIT, `worker_exit` stops them: the batch queue
is written and what was committed is acknowledged before the process ends. A
worker killed with SIGKILL acknowledges nothing it had not committed, so the
broker redelivers that and the unique (device, ts) key stores it once.
"""

import os


def _int(name, default):
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


wsgi_app = "wsgi:app"
bind = [os.environ.get("BIND") or f"0.0.0.0:{_int('PORT', 8000)}"]
workers = _int("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1))
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)
preload_app = False
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Without keep-alive a worker accepts only as many connections as it has threads. Otherwise
# a gthread worker accepts every connection it sees and queues them behind its own requests
# while another worker idles; bounded, the rest wait in the kernel's queue for the first free
# thread (bench.tasks, 2 workers, 8 clients: list fragment p95 50 ms -> 28 ms at the same
# req/s). With GUNICORN_KEEPALIVE > 0 connections stay open between requests, for a load
# balancer that reuses them, and a worker takes up to 1,000.
keepalive = _int("GUNICORN_KEEPALIVE", 0)
worker_connections = 1000 if keepalive else threads
# No recycling by default: PlantOps holds no growing state, and each recycle takes a worker
# away for about a second (it drains, exits, and its successor boots). Workers that start
# together reach a limit together, so with 10% jitter both were often away at once: nothing
# answered for 0.9 s, and the 50-plant fragment's p95 at 8 clients rose from 13 to 380-650 ms
# in the seconds around it. A limit, when set, is spread over half its value again.
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = max_requests // 2
# Heartbeat files in memory: a container's overlay filesystem can stall fsync-free writes.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108  (gunicorn's documented advice)

# Request id (set by the app on every response, or taken from the load balancer) and duration in ms.
json_logs = os.environ.get("LOG_FORMAT", "text").strip().lower() == "json"
accesslog = None if json_logs else "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").strip().lower() or "info"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}o)s "%(a)s"'


def post_worker_init(worker):
    """The worker has loaded wsgi:app: start this process's background threads."""
    from app.workers import background_services

    background_services(worker.wsgi).start()


def worker_exit(server, worker):
    """Flush and acknowledge before the worker process ends.

    gunicorn also calls this hook in the master for a worker that was already
    gone; only the worker's own process holds threads to stop.
    """
    app = getattr(worker, "wsgi", None)
    if app is None or worker.pid != os.getpid():
        return
    from app.workers import background_services

    background_services(app).stop(timeout=max(1.0, graceful_timeout - 5.0))
