"""The one Celery app, configured from Django settings (``CELERY_*``).

Processes started with ``celery -A unicommerce …`` take their settings module from
``DJANGO_SETTINGS_MODULE`` (set by the dev stack, docker-compose and the tests), never
from a default hidden here.
"""

from celery import Celery

app = Celery("unicommerce")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The default for every thread, not only the importing one: the outbox relay thread (and
# a threaded web or worker process) calls shared tasks, which resolve the "current" app
# per thread. Without this, a process that imported us before DJANGO_SETTINGS_MODULE was
# set sent them through Celery's fallback app, ignoring the routes (and the broker).
app.set_default()
