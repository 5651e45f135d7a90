"""The one Celery app, configured from Django settings (``CELERY_*``).

Processes started with ``celery -A unicommerce …`` take their settings module from
``DJANGO_SETTINGS_MODULE`` (set by the dev stack, docker-compose and the tests), never
from a default hidden here.
"""

from celery import Celery

app = Celery("unicommerce")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
