"""The audit log: append-only, one per schema (accounts.AuditEvent)."""

import datetime

from django.db import transaction
from django.utils import timezone

from core.logging import request_id_var
from tenants.accounts.models import AuditEvent, User


def audit_record(
    *,
    action: str,
    actor: User | None = None,
    actor_label: str = "",
    target_type: str = "",
    target_id: str = "",
    outcome: str = "success",
    ip_address: str | None = None,
    detail: dict | None = None,
) -> AuditEvent:
    """Append to the audit log of the schema the connection is on."""
    return AuditEvent.objects.create(
        action=action,
        outcome=outcome,
        actor_id=actor.public_id if actor else None,
        actor_label=actor_label or (actor.username if actor else "system"),
        target_type=target_type,
        target_id=target_id,
        ip_address=ip_address,
        request_id=request_id_var.get() if request_id_var.get() != "-" else "",
        detail=detail or {},
    )


@transaction.atomic
def audit_repeat_record(
    *,
    action: str,
    ip_address: str | None,
    detail: dict,
    window_seconds: int,
    outcome: str = "denied",
    actor_label: str = "anonymous",
    target_type: str = "",
    target_id: str = "",
) -> AuditEvent:
    """audit_record for what comes in floods (rejected API keys): a repeat of the action and `detail["reason"]`
    from the same address within `window_seconds` of the entry that opened adds one to that entry's
    `detail["count"]` instead of appending a row, so rows grow with addresses and windows, not requests."""
    opened_since = timezone.now() - datetime.timedelta(seconds=window_seconds)
    entry = (
        AuditEvent.objects.select_for_update()
        .filter(action=action, ip_address=ip_address, detail__reason=detail["reason"], created_at__gte=opened_since)
        .order_by("-created_at", "-id")
        .first()
    )
    if entry is None:
        return audit_record(
            action=action,
            outcome=outcome,
            actor_label=actor_label,
            target_type=target_type,
            target_id=target_id,
            ip_address=ip_address,
            detail={**detail, "count": 1},
        )
    entry.detail = {**entry.detail, "count": entry.detail.get("count", 1) + 1, "last_at": timezone.now().isoformat()}
    entry.save(update_fields=["detail"])
    return entry
