"""Gunicorn for the web face: sync workers, each keeping its database connection open
(CONN_MAX_AGE in settings), recycled now and then to cap memory growth.

The application is loaded once, in the master (``preload_app``), with its URLconf (every
view module): a worker is a fork of it. Without that, each worker start, and each
recycling after ``max_requests``, imported Django and the project again (about 0.65 s of
CPU) and its first request imported every view (about 0.3 s more), on the cores the
other workers were serving from. Because the master holds the code, a deploy restarts
gunicorn (a HUP reloads workers from the master's code, not from disk); set
GUNICORN_PRELOAD=false to go back to loading in each worker.

The access log goes through ``TokenMaskingLogger``: a payment link's token
(``/pay/<token>/``) or a cart's (``/api/v1/carts/<token>/``) lets whoever holds it pay
or fill that cart, so it never reaches a log file; it is written ``***``.
"""

import multiprocessing
import os

from gunicorn.glogging import Logger

from unicommerce.logsafe import mask_secrets


class TokenMaskingLogger(Logger):
    """Gunicorn's logger, whose access-log atoms (request line, path, query, referer,
    headers and environ values) have their URL secrets masked."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            name: mask_secrets(value) if isinstance(value, str) else value
            for name, value in atoms.items()
        }


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() not in {"0", "false", "no"}
timeout = 30
graceful_timeout = 20
keepalive = 5
max_requests = 5000
max_requests_jitter = 500
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
logger_class = TokenMaskingLogger
errorlog = "-"


def when_ready(server) -> None:
    """In the master, once the application is loaded: import the URLconf, so workers
    are forked with every view module already imported (no database is touched)."""
    if server.cfg.preload_app:
        from django.urls import get_resolver

        get_resolver().url_patterns  # noqa: B018 - the import is the point


# Gunicorn 25's control socket (gunicornc) is not used, and by default it is created in
# $HOME/.gunicorn or $XDG_RUNTIME_DIR: `make run` and the benchmarks must leave nothing
# outside the clone, and a container's user may not write there.
control_socket_disable = True
