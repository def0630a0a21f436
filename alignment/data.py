"""What a run trains on: one of this tenant's training exports (built by the consent gate, chat/training/gate.py,
and read back only while the tenant's consent is on), and optionally public rows from a file.

The export's rows keep only what the trainer needs (messages; prompt, chosen, rejected); its ids (which
conversations, documents and people it drew on) become the adapter's lineage."""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from alignment.recipe import Recipe, RecipeError
from chat.models import TrainingExport
from chat.training.services import PARTS, ExportRefused, export_part
from tenants.models import Tenant


@dataclass
class TrainingData:
    sft: list[dict] = field(default_factory=list)
    preferences: list[dict] = field(default_factory=list)
    lineage: dict = field(default_factory=lambda: {"conversation_ids": [], "document_ids": [], "user_ids": []})
    manifest: dict = field(default_factory=dict)  # hashes and counts, for the card
    public_data_only: bool = True


def _lines(blob: bytes) -> list[dict]:
    return [json.loads(line) for line in blob.splitlines() if line.strip()]


def _messages_ok(messages) -> bool:
    return (
        isinstance(messages, list)
        and len(messages) >= 2
        and all(isinstance(m, dict) and m.get("role") in ("system", "user", "assistant") for m in messages)
        and all(isinstance(m.get("content"), str) for m in messages)
        and messages[-1]["role"] == "assistant"
    )


def _pair_ok(row: dict) -> bool:
    return all(_messages_ok([*row.get("prompt", []), *row.get(part, [])]) for part in ("chosen", "rejected"))


def public_rows(path: Path, limit: int = 0, *, pairs: bool = False) -> tuple[list[dict], str]:
    """SFT rows {"messages": [...]} (or DPO rows {"prompt", "chosen", "rejected"}, each a list of messages) from
    a JSONL file, and the file's sha256."""
    try:
        blob = path.read_bytes()
        rows = _lines(blob)
    except (OSError, ValueError) as error:
        raise RecipeError(f"public rows {path}: {error}") from error
    shape = "{'prompt': [...], 'chosen': [...], 'rejected': [...]}" if pairs else "{'messages': [..., assistant]}"
    bad = [n for n, row in enumerate(rows, 1) if not (_pair_ok(row) if pairs else _messages_ok(row.get("messages")))]
    if bad:
        raise RecipeError(f"public rows {path}: rows {bad[:5]} are not {shape}")
    keys = ("prompt", "chosen", "rejected") if pairs else ("messages",)
    rows = [{key: row[key] for key in keys} for row in rows]
    return (rows[:limit] if limit else rows), hashlib.sha256(blob).hexdigest()


def export_rows(*, tenant: Tenant, export_id: str) -> tuple[TrainingExport, list[dict], list[dict]]:
    tenant.refresh_from_db(fields=["training_consent"])
    if not tenant.training_consent:
        raise ExportRefused("this tenant has withdrawn consent to training: nothing of it may be trained on")
    export = TrainingExport.objects.filter(public_id=export_id).first()
    if export is None:
        raise RecipeError(f"this tenant has no training export {export_id} (it may have been erased)")
    sft = [{"messages": row["messages"]} for row in _lines(export_part(tenant=tenant, export=export, part=PARTS[0]))]
    preferences = [  # as conversations, so the trainer applies the chat template the engine uses
        {
            "prompt": [{"role": "user", "content": row["prompt"]}],
            "chosen": [{"role": "assistant", "content": row["chosen"]}],
            "rejected": [{"role": "assistant", "content": row["rejected"]}],
        }
        for row in _lines(export_part(tenant=tenant, export=export, part=PARTS[1]))
    ]
    return export, sft, preferences


def training_data(*, tenant: Tenant, recipe: Recipe) -> TrainingData:
    data = TrainingData()
    limit = recipe.data.max_rows
    if recipe.data.export:
        export, sft, preferences = export_rows(tenant=tenant, export_id=recipe.data.export)
        data.sft, data.preferences = (sft[:limit], preferences[:limit]) if limit else (sft, preferences)
        data.lineage = {
            "conversation_ids": [str(i) for i in export.conversation_ids],
            "document_ids": [str(i) for i in export.document_ids],
            "user_ids": [str(i) for i in export.user_ids],
        }
        data.public_data_only = False
        data.manifest["export"] = {
            "id": str(export.public_id),
            "files": export.manifest.get("files", {}),
            "consent": export.manifest.get("consent", {}),
            "manifest_sha256": hashlib.sha256(json.dumps(export.manifest, sort_keys=True).encode()).hexdigest(),
        }
    if recipe.data.public:
        rows, digest = public_rows(Path(recipe.data.public), limit)
        data.sft += rows
        data.manifest["public"] = {"path": Path(recipe.data.public).name, "sha256": digest, "rows": len(rows)}
    if recipe.data.public_preferences:
        rows, digest = public_rows(Path(recipe.data.public_preferences), limit, pairs=True)
        data.preferences += rows
        data.manifest["public_preferences"] = {
            "path": Path(recipe.data.public_preferences).name,
            "sha256": digest,
            "rows": len(rows),
        }
    data.manifest["rows"] = {"sft": len(data.sft), "preferences": len(data.preferences)}
    if "sft" in recipe.stages and not data.sft:
        raise RecipeError("nothing to train on: the data has no SFT rows")
    if "dpo" in recipe.stages and not data.preferences:
        raise RecipeError("nothing to train on: the data has no preference pairs")
    return data
