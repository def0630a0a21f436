"""LoRA adapters trained on a tenant's data: where their files live, who may name them, how the engine finds
them, and retirement when what they learnt from is erased.

Files: `<ENCLAVE_FILE_STORE>/<schema>/adapters/<name>/` (the PEFT safetensors for vLLM, `adapter.gguf` for the
embedded engine, `card.json`), inside the tenant's file store, so deleting the tenant deletes them. The
embedded engine loads every `adapter.gguf` there when it starts (`--lora-dir`, inference/embedded_server.py)
and lists them at GET /lora-adapters; a request applies one by that list's id. An adapter trained after the
engine started is served once the engine restarts (the appliance's supervisor restarts it, scripts/appliance.py).

A tenant's variant may name only the tenant's own active adapters and the operator's shared ones
(ENCLAVE_EMBEDDED_LORA, ENCLAVE_LLM_ADAPTERS); every request checks again, so a retired adapter stops being
applied at once, whatever variant still names it.
"""

import logging
import shutil
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from inference import transport
from inference.errors import LlmError
from inference.models import Adapter

logger = logging.getLogger(__name__)
ENGINE_FILE = "adapter.gguf"
ENGINE_LIST_SECONDS = 10.0
_engine_list: dict = {"at": 0.0, "ids": {}}


def adapter_folder(schema_name: str, name: str) -> Path:
    return Path(settings.ENCLAVE_FILE_STORE) / schema_name / "adapters" / name


def new_name() -> str:
    return f"lora-{uuid.uuid4().hex}"


def shared_names() -> list[str]:
    """The operator's adapters, offered to every tenant: the embedded engine's listed ones and vLLM's."""
    return [*settings.ENCLAVE_EMBEDDED_LORA_NAMES, *settings.ENCLAVE_LLM_ADAPTERS]


def tenant_names() -> list[str]:
    if connection.schema_name == "public":
        return []
    return list(Adapter.objects.filter(status=Adapter.Status.ACTIVE).values_list("name", flat=True))


def known() -> list[str]:
    """What the current tenant's requests may name."""
    return [*shared_names(), *tenant_names()]


def served() -> list[str]:
    """What the current tenant may name and the model server applies now: a tenant's adapter trained after the
    embedded engine started is not among them until the engine restarts."""
    engine, shared = engine_ids(), set(shared_names())
    return [name for name in known() if name in shared or name in engine]


def _name_of(path: str) -> str:
    listed = {path: name for name, _, path in (item.partition("=") for item in settings.ENCLAVE_EMBEDDED_LORA)}
    return listed.get(path) or Path(path).parent.name


def engine_ids(*, refresh: bool = False) -> dict[str, int]:
    """Adapter name → the embedded engine's id for it (empty when the server is not llama.cpp's)."""
    now = time.monotonic()
    if refresh or now - _engine_list["at"] > ENGINE_LIST_SECONDS:
        try:
            listed = transport.engine_lora_adapters()
            ids = {_name_of(item["path"]): int(item["id"]) for item in listed}
        except (LlmError, ValueError, KeyError, TypeError):
            ids = {}
        _engine_list.update(at=now, ids=ids)
    return _engine_list["ids"]


@transaction.atomic
def adapter_register(
    *,
    name: str,
    label: str,
    run_id,
    card: dict,
    lineage: dict,
    public_data_only: bool,
) -> Adapter:
    return Adapter.objects.create(
        name=name,
        label=label[:100],
        run_id=run_id,
        card=card,
        public_data_only=public_data_only,
        conversation_ids=lineage.get("conversation_ids", []),
        document_ids=lineage.get("document_ids", []),
        user_ids=lineage.get("user_ids", []),
    )


def adapter_retire(adapter: Adapter, *, reason: str) -> str:
    """Never applied again from now on (every request checks), and its files deleted once this commits."""
    Adapter.objects.filter(pk=adapter.pk).update(
        status=Adapter.Status.RETIRED, retired_at=timezone.now(), retired_reason=reason[:200]
    )
    folder = adapter_folder(connection.schema_name, adapter.name)
    transaction.on_commit(lambda: shutil.rmtree(folder, ignore_errors=True))
    logger.info("adapter %s retired: %s", adapter.name, reason)
    return adapter.name


LINEAGE_FIELD = {
    "document": "document_ids",
    "document_no_train": "document_ids",
    "conversation": "conversation_ids",
    "conversation_no_train": "conversation_ids",
    "user": "user_ids",
    "user_no_train": "user_ids",
}


def on_erased(sender, *, kind: str, ids: list[str], **_kwargs) -> dict:
    """Retire every active adapter that learnt from what was erased or withdrawn; the receipt names them."""
    active = Adapter.objects.filter(status=Adapter.Status.ACTIVE)
    if kind == "tenant_no_train":
        learnt = active.filter(public_data_only=False)
    elif kind in LINEAGE_FIELD:
        learnt = active.filter(**{f"{LINEAGE_FIELD[kind]}__overlap": ids})
    else:
        return {}
    retired = [adapter_retire(adapter, reason=f"{kind} erased or withdrawn") for adapter in learnt]
    return {"adapters_retired": retired} if retired else {}
