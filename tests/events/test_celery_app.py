import subprocess
import sys

from tests.conftest import ROOT

PROBE = """
import threading
import unicommerce  # the Celery app is created here, before the settings are known
import os
os.environ["DJANGO_SETTINGS_MODULE"] = "unicommerce.settings.test"
import django
django.setup()
from celery import current_app
seen = []
def look():
    from unicommerce.events.tasks import event_dispatch
    seen.append((current_app.main, event_dispatch.app.main))
thread = threading.Thread(target=look)
thread.start()
thread.join()
print(seen)
"""


def test_shared_tasks_use_the_project_app_in_every_thread():
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": "postgresql://x@127.0.0.1/x",
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[('unicommerce', 'unicommerce')]"
