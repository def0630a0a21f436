import os

from celery import Celery

from config import env

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("enclave")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Run by the beat embedded in the appliance's worker (scripts/appliance.py, `-B`).
app.conf.beat_schedule = {
    "retention": {
        "task": "tenants.retention_dispatch",
        "schedule": float(env.get("ENCLAVE_RETENTION_INTERVAL_SECONDS", "3600")),
    },
}
