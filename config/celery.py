import os

from celery import Celery
from celery.signals import worker_init, worker_process_init

from core import env

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("enclave")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Sent by `manage.py scheduler` (Celery beat under a database lock: one sender however many run).
app.conf.beat_schedule = {
    "retention": {
        "task": "tenants.retention_dispatch",
        "schedule": float(env.get("ENCLAVE_RETENTION_INTERVAL_SECONDS", "3600")),
    },
    "ingestion-stale": {  # documents whose worker died, to the workers still running
        "task": "ingestion.stale_requeue",
        "schedule": max(1.0, float(env.get("ENCLAVE_INGESTION_STALE_SECONDS", "300")) / 2),
        "options": {"queue": env.get("ENCLAVE_INGESTION_QUEUE", "ingestion")},
    },
    "alignment-stopped": {  # alignment runs whose worker died, marked failed (the default queue: not the busy one)
        "task": "alignment.stopped_runs_fail",
        "schedule": 600.0,
    },
}


@worker_process_init.connect
def _trace_pool_process(**_):  # prefork: after the fork, so the exporter's thread lives in the child
    from core.tracing import tracing_start

    tracing_start("enclave-worker")


@worker_init.connect
def _trace_worker(sender=None, **_):  # solo and thread pools run tasks in the worker's own process
    if "prefork" not in str(getattr(sender, "pool_cls", "prefork")):
        from core.tracing import tracing_start

        tracing_start("enclave-worker")
