"""Training consent and stored exports: who may say yes, what saying no removes, the operator's export."""

from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from chat.models import TrainingExport
from chat.training.export import file_entry, jsonl, tenant_export
from core.api import ServiceError
from tenants.accounts.audit import audit_record
from tenants.accounts.models import User
from tenants.crypto import decrypt, encrypt
from tenants.erasure import erasure_cascade, training_lock
from tenants.models import Tenant
from tenants.services import tenant_settings_change

PARTS = ("sft.jsonl", "preferences.jsonl")


class ExportRefused(ServiceError):
    status_code = 409
    code = "training_consent_off"


@transaction.atomic
def tenant_consent_set(*, tenant: Tenant, consent: bool, actor: User) -> dict:
    """A tenant admin's yes or no. Withdrawing deletes the tenant's stored exports. Audited."""
    removed = {}
    if consent != tenant.training_consent:
        if not consent:
            removed = erasure_cascade(tenant=tenant, kind="tenant_no_train", ids=[tenant.schema_name])
        tenant_settings_change(
            tenant=tenant,
            action="training.consent_changed",
            actor=actor,
            detail={"removed": removed},
            training_consent=consent,
            training_consent_changed_at=timezone.now(),
        )
    return {"training_consent": tenant.training_consent, "removed": removed}


def _object_id(export: TrainingExport, part: str) -> str:
    return f"training-export:{export.public_id}:{part}"


@transaction.atomic
def export_create(*, tenant: Tenant, actor: User) -> TrainingExport:
    training_lock(tenant)
    tenant.refresh_from_db(fields=["training_consent", "training_consent_changed_at"])
    if not tenant.training_consent:
        raise ExportRefused("this tenant has not consented to training; a tenant admin can turn consent on")
    built = tenant_export(tenant=tenant)
    export = TrainingExport(created_by=actor)
    export.manifest = {"export": str(export.public_id), **built.manifest}
    export.sft_encrypted = encrypt(tenant=tenant, object_id=_object_id(export, PARTS[0]), plaintext=jsonl(built.sft))
    export.preferences_encrypted = encrypt(
        tenant=tenant, object_id=_object_id(export, PARTS[1]), plaintext=jsonl(built.preferences)
    )
    export.conversation_ids = sorted(built.conversation_ids)
    export.document_ids = sorted(built.document_ids)
    export.user_ids = sorted(built.user_ids)
    export.save()
    audit_record(
        action="training.exported",
        actor=actor,
        target_type="training_export",
        target_id=str(export.public_id),
        detail={"counts": export.manifest["counts"], "excluded": export.manifest["excluded"]},
    )
    return export


def export_part(*, tenant: Tenant, export: TrainingExport, part: str) -> bytes:
    blob = export.sft_encrypted if part == PARTS[0] else export.preferences_encrypted
    return decrypt(tenant=tenant, object_id=_object_id(export, part), blob=bytes(blob))


def export_delete(*, export: TrainingExport, actor: User) -> dict:
    receipt = {"training_export": str(export.public_id), "deleted_at": timezone.now().isoformat()}
    export.delete()
    audit_record(
        action="training.export_deleted",
        actor=actor,
        target_type="training_export",
        target_id=receipt["training_export"],
        detail=receipt,
    )
    return receipt


def operator_export(*, actor_label: str) -> dict:
    """Every consenting tenant's export in one, each row labelled with its tenant (not stored)."""
    connection.set_schema_to_public()
    sft, preferences, tenants, skipped = [], [], {}, []
    for tenant in Tenant.objects.exclude(schema_name="public").order_by("schema_name"):
        if not (tenant.training_consent and tenant.is_active):
            skipped.append(tenant.schema_name)
            continue
        with schema_context(tenant.schema_name):
            built = tenant_export(tenant=tenant, label_tenant=True)
            audit_record(
                action="training.exported_by_operator",
                actor_label=actor_label,
                target_type="tenant",
                target_id=tenant.schema_name,
                detail={"counts": built.manifest["counts"]},
            )
        sft += built.sft
        preferences += built.preferences
        tenants[tenant.schema_name] = built.manifest
    audit_record(
        action="training.exported_by_operator",
        actor_label=actor_label,
        target_type="tenants",
        detail={"tenants": sorted(tenants), "without_consent": len(skipped)},
    )
    manifest = {
        "created_at": timezone.now().isoformat(),
        "tenants": tenants,
        "tenants_without_consent": skipped,
        "files": {"sft.jsonl": file_entry(sft), "preferences.jsonl": file_entry(preferences)},
    }
    return {"manifest": manifest, "sft": sft, "preferences": preferences}
