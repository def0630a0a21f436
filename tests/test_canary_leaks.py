"""Canary leak suite: nothing of tenant A's private data reaches anyone who may not see it, anywhere.

Tenant A's finance user gets canaries in a group-restricted document (body, title, file name), a
conversation (title, question, answer, citation quote, trace), a memory, a feedback comment and a
stored training export. Then tenant B's admin and member, tenant A's user outside the group, an
anonymous caller and the operator call every endpoint of both URL confs (every method of every
view) with A's ids and their own, chat through every interface with a question about the document,
and render every page. No response body, no prompt the model received and no log record written
during the run may hold a canary. A positive control runs the same probes as the finance user and
must find them.

PROBES must name every URL pattern of both URL confs and every method of its view: the last test
fails when an endpoint is added without a probe here.
"""

import json
import logging
import uuid
from dataclasses import dataclass, field

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django_tenants.utils import schema_context

from chat.conversations.services import answer_store, conversation_create, feedback_give, message_add
from chat.memory import services as memory
from chat.models import TrainingExport
from chat.training import services as training
from ingestion.services import document_retitle, document_upload
from ingestion.tasks import document_version_ingest
from retrieval.models import Chunk
from tenants.accounts.selectors import EVERYONE
from tenants.accounts.services import group_member_add
from tenants.models import Tenant
from tenants.tasking import TENANT_KWARG
from tests.inference.conftest import fake_llm, fresh_breaker  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

CANARY = "CNRY" + uuid.uuid4().hex[:10]
QUESTION = "What is the codename of Project Zanzibar, the Kestrel acquisition?"


@dataclass(frozen=True)
class Probe:
    method: str
    path: str
    data: dict | None = None
    page: bool = False  # a page: signed in with a session on the actor's host instead of an API key


# url name -> probes. {foreign_*}: tenant A finance's objects; {own_*}: the actor's own.
PROBES: dict[str, list[Probe]] = {
    "health-live": [Probe("get", "/health/live")],
    "health-ready": [Probe("get", "/health/ready")],
    "tenant-console": [Probe("get", "/", page=True)],
    "tenant-dashboard": [Probe("get", "/dashboard/", page=True)],
    "audit-page": [Probe("get", "/audit/", page=True), Probe("get", "/audit/?action=auth.login&page=2", page=True)],
    "portal": [Probe("get", "/documents/", page=True)],
    "chat": [Probe("get", "/chat/", page=True)],
    "safety-policy-page": [
        Probe("get", "/safety/", page=True),
        Probe("post", "/safety/", {"region": "default", "weapons": "allow"}, page=True),
    ],
    "console-user-create": [Probe("post", "/console/users/", {"username": "probe"}, page=True)],
    "console-user-update": [Probe("post", "/console/users/{foreign_user}/", {"role": "member"}, page=True)],
    "console-user-erase": [Probe("post", "/console/users/{foreign_user}/erase/", {"confirm": "fay"}, page=True)],
    "console-group-create": [Probe("post", "/console/groups/", {"name": "probe"}, page=True)],
    "console-group-delete": [Probe("post", "/console/groups/{foreign_group}/delete/", page=True)],
    "console-group-member-add": [
        Probe("post", "/console/groups/{foreign_group}/members/", {"user_id": "{own_user}"}, page=True)
    ],
    "console-group-member-remove": [
        Probe("post", "/console/groups/{foreign_group}/members/{foreign_user}/remove/", page=True)
    ],
    "console-api-key-create": [Probe("post", "/console/api-keys/", {"name": "p"}, page=True)],
    "console-api-key-revoke": [Probe("post", "/console/api-keys/{foreign_api_key}/revoke/", page=True)],
    "console-my-training": [Probe("post", "/console/me/training/", {"opt_out": "false"}, page=True)],
    "console-identity-provider": [
        Probe("post", "/console/identity-provider/", {"issuer": "https://idp.example", "client_id": "x"}, page=True)
    ],
    "console-identity-provider-remove": [Probe("post", "/console/identity-provider/remove/", page=True)],
    "document-page": [Probe("get", "/documents/{foreign_document}/", page=True)],
    "document-edit": [Probe("post", "/documents/{foreign_document}/edit/", {"acl": "everyone"}, page=True)],
    "document-version-upload": [Probe("post", "/documents/{foreign_document}/versions/", page=True)],
    "document-delete": [Probe("post", "/documents/{foreign_document}/delete/", {"confirm": "x"}, page=True)],
    "document-reingest": [Probe("post", "/documents/{foreign_document}/reingest/", page=True)],
    "trace-page": [Probe("get", "/traces/{foreign_message}/", page=True)],
    "experiments-page": [Probe("get", "/experiments/", page=True)],
    "experiment-create": [Probe("post", "/experiments/new/", {"name": "probe"}, page=True)],
    "experiment-act": [Probe("post", "/experiments/{missing_uuid}/stop/", page=True)],
    "data-page": [Probe("get", "/data/", page=True)],
    "schema": [Probe("get", "/api/v1/schema/")],
    "accounts:me": [Probe("get", "/api/v1/me/")],
    "accounts:me-training": [
        Probe("get", "/api/v1/me/training/"),
        Probe("put", "/api/v1/me/training/", {"opt_out": 0}),
    ],
    "accounts:user-list": [Probe("get", "/api/v1/users/"), Probe("post", "/api/v1/users/", {"username": "probe"})],
    "accounts:user-detail": [
        Probe("get", "/api/v1/users/{foreign_user}/"),
        Probe("patch", "/api/v1/users/{foreign_user}/", {"role": "member"}),
        Probe("delete", "/api/v1/users/{foreign_user}/"),
    ],
    "accounts:user-erase": [Probe("post", "/api/v1/users/{foreign_user}/erase/")],
    "accounts:group-list": [Probe("get", "/api/v1/groups/"), Probe("post", "/api/v1/groups/", {"name": "probe"})],
    "accounts:group-detail": [
        Probe("get", "/api/v1/groups/{foreign_group}/"),
        Probe("patch", "/api/v1/groups/{foreign_group}/", {"name": "renamed"}),
        Probe("delete", "/api/v1/groups/{foreign_group}/"),
    ],
    "accounts:group-member-list": [
        Probe("get", "/api/v1/groups/{foreign_group}/members/"),
        Probe("post", "/api/v1/groups/{foreign_group}/members/", {"user_id": "{own_user}"}),
    ],
    "accounts:group-member-detail": [Probe("delete", "/api/v1/groups/{foreign_group}/members/{foreign_user}/")],
    "accounts:api-key-list": [Probe("get", "/api/v1/api-keys/"), Probe("post", "/api/v1/api-keys/", {"name": "p"})],
    "accounts:api-key-detail": [
        Probe("get", "/api/v1/api-keys/{foreign_api_key}/"),
        Probe("delete", "/api/v1/api-keys/{foreign_api_key}/"),
    ],
    "accounts:audit-event-list": [Probe("get", "/api/v1/audit-events/")],
    "accounts:identity-provider": [
        Probe("get", "/api/v1/identity-provider/"),
        Probe("put", "/api/v1/identity-provider/", {"issuer": "https://idp.example", "client_id": "x"}),
        Probe("delete", "/api/v1/identity-provider/"),
    ],
    "ingestion:document-list": [Probe("get", "/api/v1/documents/"), Probe("post", "/api/v1/documents/", {})],
    "ingestion:document-detail": [
        Probe("get", "/api/v1/documents/{foreign_document}/"),
        Probe("patch", "/api/v1/documents/{foreign_document}/", {"no_train": True}),
        Probe("delete", "/api/v1/documents/{foreign_document}/"),
    ],
    "ingestion:document-version-list": [Probe("post", "/api/v1/documents/{foreign_document}/versions/", {})],
    "ingestion:document-reingest": [Probe("post", "/api/v1/documents/{foreign_document}/reingest/")],
    "ingestion:queue": [Probe("get", "/api/v1/ingestion/queue/")],
    "retrieval:search": [
        Probe("post", "/api/v1/search/", {"query": QUESTION}),
        Probe("post", "/api/v1/search/", {"query": QUESTION, "mode": "lexical"}),
        Probe("post", "/api/v1/search/", {"query": QUESTION, "filters": {"documents": ["{foreign_document}"]}}),
        Probe("post", "/api/v1/search/", {"query": QUESTION, "filters": {"documents": ["not-an-id"]}}),
    ],
    "inference:llm-usage": [Probe("get", "/api/v1/usage/llm/")],
    "chat:conversation-list": [
        Probe("get", "/api/v1/conversations/"),
        Probe("post", "/api/v1/conversations/", {"title": "probe"}),
    ],
    "chat:conversation-export": [Probe("get", "/api/v1/conversations/export/")],
    "chat:conversation-detail": [
        Probe("get", "/api/v1/conversations/{foreign_conversation}/"),
        Probe("get", "/api/v1/conversations/{own_conversation}/"),
        Probe("patch", "/api/v1/conversations/{foreign_conversation}/", {"no_train": True}),
        Probe("delete", "/api/v1/conversations/{foreign_conversation}/"),
    ],
    "chat:conversation-messages": [
        Probe("get", "/api/v1/conversations/{foreign_conversation}/messages/"),
        Probe("post", "/api/v1/conversations/{foreign_conversation}/messages/", {"content": QUESTION}),
        Probe("post", "/api/v1/conversations/{own_conversation}/messages/", {"content": QUESTION}),
        Probe("post", "/api/v1/conversations/{own_conversation}/messages/", {"content": QUESTION, "stream": False}),
        Probe("post", "/api/v1/conversations/{own_conversation}/messages/", {"content": "What is 17 * 3?"}),
        Probe("post", "/api/v1/conversations/{own_conversation}/messages/", {"content": "Remember that I sit at 4B"}),
    ],
    "chat:message-regenerate": [
        Probe("post", "/api/v1/messages/{foreign_message}/regenerate/"),
        Probe("post", "/api/v1/messages/{own_message}/regenerate/", {"stream": False}),
    ],
    "chat:message-feedback": [
        Probe("post", "/api/v1/messages/{foreign_message}/feedback/", {"rating": "up"}),
        Probe("post", "/api/v1/messages/{own_message}/feedback/", {"rating": "down", "comment": "meh"}),
    ],
    "chat:message-preference": [
        Probe("post", "/api/v1/messages/{own_message}/preference/", {"over": "{foreign_message}"})
    ],
    "chat:message-trace": [
        Probe("get", "/api/v1/messages/{foreign_message}/trace/"),
        Probe("get", "/api/v1/messages/{own_message}/trace/"),
    ],
    "chat:chat-settings": [
        Probe("get", "/api/v1/chat/settings/"),
        Probe("patch", "/api/v1/chat/settings/", {"allow_ungrounded_answers": False}),
        Probe("patch", "/api/v1/chat/settings/", {"admin_reads_traces": True}),
    ],
    "chat:retention": [
        Probe("get", "/api/v1/retention/"),
        Probe("put", "/api/v1/retention/", {"conversation_days": 30, "trace_days": None}),
    ],
    "safety:policy": [
        Probe("get", "/api/v1/safety/policy/"),
        Probe("put", "/api/v1/safety/policy/", {"region": "strict", "overrides": {}}),
    ],
    "safety:policy-versions": [Probe("get", "/api/v1/safety/policy/versions/")],
    "safety:taxonomy": [Probe("get", "/api/v1/safety/taxonomy/")],
    "chat:memory-list": [
        Probe("get", "/api/v1/memories/"),
        Probe("post", "/api/v1/memories/", {"content": "I like tea"}),
        Probe("delete", "/api/v1/memories/"),
    ],
    "chat:memory-settings": [
        Probe("get", "/api/v1/memories/settings/"),
        Probe("put", "/api/v1/memories/settings/", {"enabled": True}),
    ],
    "chat:memory-detail": [Probe("delete", "/api/v1/memories/{foreign_memory}/")],
    "evaluation:experiment-list": [
        Probe("get", "/api/v1/experiments/"),
        Probe(
            "post",
            "/api/v1/experiments/",
            {"name": "probe", "treatment": {"name": "t", "settings": {"temperature": 0.1}}},
        ),
    ],
    "evaluation:experiment-detail": [Probe("get", "/api/v1/experiments/{missing_uuid}/")],
    "evaluation:experiment-start": [Probe("post", "/api/v1/experiments/{missing_uuid}/start/")],
    "evaluation:experiment-promote": [Probe("post", "/api/v1/experiments/{missing_uuid}/promote/")],
    "evaluation:experiment-stop": [Probe("post", "/api/v1/experiments/{missing_uuid}/stop/")],
    "chat:training-consent": [
        Probe("get", "/api/v1/training/consent/"),
        Probe("patch", "/api/v1/training/consent/", {"training_consent": True}),
    ],
    "chat:training-export-list": [
        Probe("get", "/api/v1/training/exports/"),
        Probe("post", "/api/v1/training/exports/"),
    ],
    "chat:training-export-detail": [
        Probe("get", "/api/v1/training/exports/{foreign_export}/"),
        Probe("delete", "/api/v1/training/exports/{foreign_export}/"),
    ],
    "chat:training-export-file": [
        Probe("get", "/api/v1/training/exports/{foreign_export}/sft.jsonl"),
        Probe("get", "/api/v1/training/exports/{foreign_export}/preferences.jsonl"),
    ],
    "alignment:alignment-run-list": [Probe("get", "/api/v1/alignment/runs/")],
    "alignment:adapter-list": [Probe("get", "/api/v1/adapters/")],
    "alignment:adapter-detail": [
        Probe("get", "/api/v1/adapters/{missing_uuid}/"),
        Probe("delete", "/api/v1/adapters/{missing_uuid}/"),
    ],
    "openai-chat-completions": [
        Probe("post", "/v1/chat/completions", {"messages": [{"role": "user", "content": QUESTION}]}),
        Probe("post", "/v1/chat/completions", {"messages": [{"role": "user", "content": QUESTION}], "stream": True}),
    ],
    "openai-models": [Probe("get", "/v1/models")],
    "openai-model-detail": [Probe("get", "/v1/models/enclave-grounded"), Probe("get", "/v1/models/other")],
    # After the chat probes: forgetting the memory would hide it from them in the positive control.
    "data-memory-switch": [Probe("post", "/data/memory/", {"enabled": "false"}, page=True)],
    "data-memory-add": [Probe("post", "/data/memories/", {"content": "probe"}, page=True)],
    "data-memory-forget-all": [Probe("post", "/data/memories/forget/", page=True)],
    "data-memory-forget": [Probe("post", "/data/memories/{foreign_memory}/forget/", page=True)],
    "data-consent": [Probe("post", "/data/consent/", {"training_consent": "false"}, page=True)],
    "data-retention": [Probe("post", "/data/retention/", {"conversation_days": ""}, page=True)],
    "data-export-create": [Probe("post", "/data/exports/", page=True)],
    "data-export-delete": [Probe("post", "/data/exports/{foreign_export}/delete/", page=True)],
    # The public URL conf (operator host). Deleting or suspending a real tenant would end the run:
    # those are probed with an id no tenant has.
    "operator-console": [Probe("get", "/", page=True)],
    "metrics": [Probe("get", "/metrics")],
    "operator:tenant-list": [Probe("get", "/api/v1/operator/tenants/"), Probe("post", "/api/v1/operator/tenants/", {})],
    "operator:tenant-detail": [
        Probe("get", "/api/v1/operator/tenants/{tenant_a}/"),
        Probe("delete", "/api/v1/operator/tenants/{tenant_missing}/"),
    ],
    "operator:tenant-suspend": [Probe("post", "/api/v1/operator/tenants/{tenant_missing}/suspend/")],
    "operator:tenant-resume": [Probe("post", "/api/v1/operator/tenants/{tenant_missing}/resume/")],
    "operator:tenant-usage": [Probe("post", "/api/v1/operator/tenants/{tenant_a}/usage/")],
    "operator:tenant-limits": [Probe("put", "/api/v1/operator/tenants/{tenant_missing}/limits/", {})],
    "operator:operator-list": [
        Probe("get", "/api/v1/operator/operators/"),
        Probe("post", "/api/v1/operator/operators/", {}),
    ],
    "operator:operator-detail": [
        Probe("patch", "/api/v1/operator/operators/{operator_missing}/", {"is_active": False})
    ],
    "operator-experiment-list": [
        Probe("get", "/api/v1/operator/tenants/{tenant_a}/experiments/"),
        Probe("post", "/api/v1/operator/tenants/{tenant_a}/experiments/", {}),
    ],
    "operator-experiment-start": [
        Probe("post", "/api/v1/operator/tenants/{tenant_a}/experiments/{missing_uuid}/start/")
    ],
    "operator-experiment-promote": [
        Probe("post", "/api/v1/operator/tenants/{tenant_a}/experiments/{missing_uuid}/promote/")
    ],
    "operator-experiment-stop": [Probe("post", "/api/v1/operator/tenants/{tenant_a}/experiments/{missing_uuid}/stop/")],
    "operator-training-export": [Probe("post", "/api/v1/operator/training-export/")],
    "operator-trace-access": [
        Probe("get", "/api/v1/operator/tenants/{tenant_a}/trace-access/"),
        Probe("put", "/api/v1/operator/tenants/{tenant_a}/trace-access/", {"admin_reads_traces": True}),
    ],
    "console-tenant-create": [Probe("post", "/console/tenants/", {}, page=True)],
    "console-tenant-suspend": [Probe("post", "/console/tenants/{tenant_missing}/suspend/", page=True)],
    "console-tenant-resume": [Probe("post", "/console/tenants/{tenant_missing}/resume/", page=True)],
    "console-tenant-delete": [Probe("post", "/console/tenants/{tenant_missing}/delete/", page=True)],
    "console-tenant-limits": [Probe("post", "/console/tenants/{tenant_missing}/limits/", page=True)],
    "console-tenant-usage": [Probe("post", "/console/tenants/{tenant_a}/usage/", page=True)],
    "console-operator-create": [Probe("post", "/console/operators/", {}, page=True)],
    "console-operator-update": [
        Probe("post", "/console/operators/{operator_missing}/", {"is_active": "false"}, page=True)
    ],
    "operator-system": [Probe("get", "/system/", page=True)],
    "operator-alignment": [Probe("get", "/alignment/", page=True)],
    "console-alignment-start": [Probe("post", "/console/alignment/", {"tenant": "", "recipe": ""}, page=True)],
    "operator-alignment-run-list": [
        Probe("get", "/api/v1/operator/tenants/{tenant_a}/alignment-runs/"),
        Probe("post", "/api/v1/operator/tenants/{tenant_a}/alignment-runs/", {}),
    ],
    "operator-alignment-run-detail": [
        Probe("get", "/api/v1/operator/tenants/{tenant_a}/alignment-runs/{missing_uuid}/")
    ],
    # Last: signing out ends the page session of the probes above.
    "login": [Probe("get", "/login/", page=True), Probe("post", "/login/", {"username": "fay"}, page=True)],
    "oidc-start": [Probe("get", "/login/oidc/", page=True)],
    "oidc-callback": [Probe("get", "/login/oidc/callback/?code=x&state=y", page=True)],
    "logout": [Probe("post", "/logout/", page=True)],
}

# What a tenant admin may do to see more or to make the secrets go away: give themselves the group,
# change or erase the owner, delete the document, switch consent, sign-in or trace reading (a power used
# through one field of a request is named with the field). Tenant A's own admin is probed with everything
# else: without using these powers (each audited), the admin sees nothing.
ADMIN_POWERS = {
    ("chat:chat-settings", "patch", "admin_reads_traces"),
    ("console-identity-provider", "post"),
    ("console-identity-provider-remove", "post"),
    ("data-consent", "post"),
    ("data-export-delete", "post"),
    ("console-user-update", "post"),
    ("console-user-erase", "post"),
    ("console-group-delete", "post"),
    ("console-group-member-add", "post"),
    ("console-group-member-remove", "post"),
    ("console-api-key-revoke", "post"),
    ("document-edit", "post"),
    ("document-delete", "post"),
    ("accounts:user-detail", "patch"),
    ("accounts:user-detail", "delete"),
    ("accounts:user-erase", "post"),
    ("accounts:group-detail", "patch"),
    ("accounts:group-detail", "delete"),
    ("accounts:group-member-list", "post"),
    ("accounts:group-member-detail", "delete"),
    ("accounts:api-key-detail", "delete"),
    ("accounts:identity-provider", "put"),
    ("accounts:identity-provider", "delete"),
    ("ingestion:document-detail", "delete"),
    ("chat:training-consent", "patch"),
    ("chat:training-export-detail", "delete"),
}


@dataclass
class Actor:
    name: str
    schema: str | None  # None: the public host (operator) or nobody
    host: str
    key: str | None
    user: object = None
    ids: dict = field(default_factory=dict)
    uses_admin_powers: bool = True


def _ingest(world, *, filename: str, text: str, acl: list[str]):
    with schema_context(world.tenant.schema_name):
        outcome = document_upload(
            tenant=world.tenant, user=world.admin, filename=filename, data=text.encode(), acl_principals=acl
        )
    document_version_ingest.apply(kwargs={TENANT_KWARG: world.tenant.schema_name, "version_id": outcome.version.pk})
    return outcome.document


def _own_objects(world, user) -> dict:
    """A conversation with an answer, a memory and (for tenant B) a stored export, all the actor's own."""
    with schema_context(world.tenant.schema_name):
        conversation = conversation_create(tenant=world.tenant, user=user, title="My trips")
        message_add(tenant=world.tenant, conversation=conversation, role="user", content="Travel class?")
        answer = answer_store(
            tenant=world.tenant,
            conversation=conversation,
            content="Economy.",
            status="complete",
            error_code="",
            citations=[],
            trace={"question": "Travel class?"},
            context_documents=[],
        )
        memory.enable(user=user, on=True)
        memory.remember(tenant=world.tenant, user=user, text="I prefer aisle seats")
    return {"own_user": user.public_id, "own_conversation": conversation.public_id, "own_message": answer.public_id}


def _trace_of_the_secret(secret) -> dict:
    """A trace as the answer loop writes it, its passage, evidence and removed sentence from the secret."""
    chunk_id = str(Chunk.objects.filter(document_id=secret.public_id).values_list("id", flat=True).first())
    return {
        "question": f"Codename? {CANARY}question",
        "candidates": [{"chunk_id": chunk_id, "fused": 0.03, "title": f"{CANARY}title"}],
        "passages_sent": [chunk_id],
        "evidence": [{"number": 1, "sentence": f"The codename is {CANARY}body.", "position": 0, "score": 0.9}],
        "removed_sentences": [{"sentence": f"Also {CANARY}body.", "cited": [1], "reason": "not in the passage"}],
    }


def _plant(a) -> dict:
    """Tenant A's secrets: only the finance user may see them."""
    finance_only = [f"group:{a.finance_group.public_id}"]
    _ingest(
        a,
        filename="zanzibar-overview.md",
        text="# Project Zanzibar\n\nProject Zanzibar is the Kestrel acquisition. Its codename is on the finance memo.",
        acl=[EVERYONE],
    )
    secret = _ingest(
        a,
        filename=f"{CANARY}-merger.md",
        text=f"# Zanzibar memo\n\nThe codename of Project Zanzibar, the Kestrel acquisition, is {CANARY}body.",
        acl=finance_only,
    )
    with schema_context("tenant_a"):
        document_retitle(document=secret, title=f"{CANARY}title Zanzibar memo", actor=a.admin)
        conversation = conversation_create(tenant=a.tenant, user=a.finance, title=f"{CANARY}conversation")
        message_add(tenant=a.tenant, conversation=conversation, role="user", content=f"Codename? {CANARY}question")
        answer = answer_store(
            tenant=a.tenant,
            conversation=conversation,
            content=f"It is {CANARY}body [1].",
            status="complete",
            error_code="",
            citations=[
                {
                    "number": 1,
                    "chunk_id": uuid.uuid4(),
                    "document_id": secret.public_id,
                    "version": 1,
                    "page": 1,
                    "section": "Zanzibar memo",
                    "title": f"{CANARY}title",
                    "quote": f"is {CANARY}body",
                    "support": 1.0,
                }
            ],
            trace=_trace_of_the_secret(secret),
            context_documents=[secret.public_id],
        )
        feedback_give(tenant=a.tenant, message=answer, user=a.finance, rating=1, reason="", comment=f"{CANARY}feedback")
        memory.enable(user=a.finance, on=True)
        fact = memory.remember(tenant=a.tenant, user=a.finance, text=f"My locker code is {CANARY}memory")
        training.tenant_consent_set(tenant=a.tenant, consent=True, actor=a.admin)
        export = training.export_create(tenant=a.tenant, actor=a.admin)
        # Consent off again without the withdrawal's cleanup: a stored export full of canaries stays behind.
        Tenant.objects.filter(pk=a.tenant.pk).update(training_consent=False)
    return {
        "foreign_user": a.finance.public_id,
        "foreign_group": a.finance_group.public_id,
        "foreign_api_key": _api_key_id(a),
        "foreign_document": secret.public_id,
        "foreign_conversation": conversation.public_id,
        "foreign_message": answer.public_id,
        "foreign_memory": fact.public_id,
        "foreign_export": export.public_id,
        "tenant_a": a.tenant.pk,
        "tenant_missing": 2**31 - 1,
        "operator_missing": "00000000-0000-4000-8000-000000000000",
        "missing_uuid": "00000000-0000-4000-8000-000000000001",
    }


def _status(seen: dict[str, bytes], probe_start: str) -> str:
    return next(body[:3].decode() for probe, body in seen.items() if probe.startswith(probe_start))


def _api_key_id(world):
    from tenants.accounts.models import ApiKey

    with schema_context(world.tenant.schema_name):
        return ApiKey.objects.get(prefix=world.admin_key.split("_")[1]).public_id


def _format(value, ids: dict):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _format(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_format(v, ids) for v in value]
    return value


def _call(client, actor: Actor, probe: Probe, ids: dict) -> bytes:
    path = probe.path.format(**ids)
    data = _format(probe.data, ids)
    headers = {"HTTP_HOST": actor.host}
    if not probe.page and actor.key:
        headers = {"HTTP_HOST": "localhost", "HTTP_AUTHORIZATION": f"Bearer {actor.key}"}
    if probe.method == "get":
        response = client.get(path, **headers)
    elif probe.page:
        response = getattr(client, probe.method)(path, data=data or {}, **headers)
    else:
        body = json.dumps(data) if data is not None else None
        response = getattr(client, probe.method)(path, data=body, content_type="application/json", **headers)
    body = b"".join(response) if response.streaming else response.content
    return f"{response.status_code} {dict(response.items())} ".encode() + body


@pytest.fixture
def log_records(monkeypatch):
    """Every record any logger hands to its handlers during the test, with its extra fields."""
    records = []
    original = logging.Logger.callHandlers

    def capture(self, record):
        records.append(f"{record.getMessage()} {record.__dict__} {record.exc_text or ''}")
        return original(self, record)

    monkeypatch.setattr(logging.Logger, "callHandlers", capture)
    return records


def _actors(tenant_a, tenant_b, operator) -> dict[str, Actor]:
    return {
        "tenant_b_admin": Actor("tenant_b_admin", "tenant_b", tenant_b.host, tenant_b.admin_key, tenant_b.admin),
        "tenant_b_member": Actor("tenant_b_member", "tenant_b", tenant_b.host, tenant_b.finance_key, tenant_b.finance),
        "tenant_a_outsider": Actor("tenant_a_outsider", "tenant_a", tenant_a.host, tenant_a.legal_key, tenant_a.legal),
        "tenant_a_admin": Actor(
            "tenant_a_admin", "tenant_a", tenant_a.host, tenant_a.admin_key, tenant_a.admin, uses_admin_powers=False
        ),
        "anonymous": Actor("anonymous", None, tenant_a.host, None),
        "operator": Actor("operator", None, "localhost", operator.key, operator.user),
        # The key a Prometheus scrape configuration holds; its pages are an anonymous visitor's.
        "operator_metrics_key": Actor("operator_metrics_key", None, "localhost", _metrics_key(operator)),
        "tenant_a_insider": Actor(
            "tenant_a_insider", "tenant_a", tenant_a.host, tenant_a.finance_key, tenant_a.finance
        ),
    }


def _metrics_key(operator) -> str:
    from tenants.accounts.services import api_key_create

    return api_key_create(user=operator.user, name="prometheus", actor=operator.user, scopes=["metrics"])[1]


def _unseen_by(actor: Actor, body: bytes) -> bytes:
    """Tenant A's admin manages the library: the secret document's title and file name (which that
    admin set) are listed to them by design, its content is not. Everyone else sees none of it."""
    if actor.name != "tenant_a_admin":
        return body
    return body.replace(f"{CANARY}title".encode(), b"").replace(f"{CANARY}-merger".encode(), b"")


def _is_admin_power(name: str, probe: Probe) -> bool:
    fields = probe.data if isinstance(probe.data, dict) else {}
    return (name, probe.method) in ADMIN_POWERS or any((name, probe.method, f) in ADMIN_POWERS for f in fields)


def _exercise(client, actor: Actor, worlds: dict, ids: dict) -> dict[str, bytes]:
    if actor.schema:
        ids = ids | _own_objects(worlds[actor.schema], actor.user)
        with schema_context(actor.schema):
            client.force_login(actor.user)
    else:
        ids = ids | {"own_user": uuid.uuid4(), "own_conversation": uuid.uuid4(), "own_message": uuid.uuid4()}
        if actor.user is not None:
            client.force_login(actor.user)
    seen = {}
    for name, probes in PROBES.items():
        for probe in probes:
            if not actor.uses_admin_powers and _is_admin_power(name, probe):
                continue
            seen[f"{name} {probe.method} {probe.path} {json.dumps(probe.data)}"] = _call(client, actor, probe, ids)
    return seen


@pytest.mark.parametrize(
    "actor_name",
    [
        "tenant_b_admin",
        "tenant_b_member",
        "tenant_a_outsider",
        "tenant_a_admin",
        "anonymous",
        "operator",
        "operator_metrics_key",
    ],
)
def test_no_canary_reaches_anyone_outside_the_group(
    client,
    tenant_a,
    tenant_b,
    operator,
    fake_llm,
    fresh_breaker,
    log_records,
    actor_name,
):
    fake_llm.answer("Nothing to add [1].")
    worlds = {"tenant_a": tenant_a, "tenant_b": tenant_b}
    ids = _plant(tenant_a)
    # B's own answer to the same question: strong evidence, so the model is asked and its prompt can be checked.
    _ingest(
        tenant_b,
        filename="zanzibar.md",
        text="# Zanzibar\n\nThe codename of Project Zanzibar, the Kestrel acquisition, is Bluebird.",
        acl=[EVERYONE],
    )
    actor = _actors(tenant_a, tenant_b, operator)[actor_name]

    seen = _exercise(client, actor, worlds, ids)

    leaks = [probe for probe, body in seen.items() if CANARY.encode() in _unseen_by(actor, body)]
    assert leaks == []
    if actor.schema:  # the actor stayed signed in to the end: the probes were answered, not refused
        assert _status(seen, "chat:conversation-detail get /api/v1/conversations/{own_conversation}/") == "200"
        assert _status(seen, 'openai-chat-completions post /v1/chat/completions {"messages"') == "200"
        assert _status(seen, "chat:memory-list get") == "200"
    assert [r for r in fake_llm.requests if CANARY in json.dumps(r["body"])] == []
    assert [r for r in log_records if CANARY in r] == []
    if actor_name in ("tenant_b_admin", "tenant_a_outsider", "tenant_a_admin"):
        assert fake_llm.requests, "the chat probes never reached the model: the prompt check proved nothing"
    if actor_name == "operator_metrics_key":  # the scrape key opens /metrics and no operator endpoint
        assert _status(seen, "metrics get") == "200"
        operator_api = {probe: body[:3] for probe, body in seen.items() if "/api/v1/operator/" in probe}
        assert operator_api and set(operator_api.values()) == {b"403"}, operator_api


def test_the_probes_find_the_canaries_where_they_may_be_seen(
    client,
    tenant_a,
    tenant_b,
    operator,
    fake_llm,
    fresh_breaker,
):
    """The positive control: as the finance user, the same probes show the canaries."""
    fake_llm.answer("Nothing to add [1].")
    ids = _plant(tenant_a)
    actor = _actors(tenant_a, tenant_b, operator)["tenant_a_insider"]

    seen = _exercise(client, actor, {"tenant_a": tenant_a, "tenant_b": tenant_b}, ids)

    found = {probe.split(" ")[0] for probe, body in seen.items() if CANARY.encode() in body}
    assert {
        "retrieval:search",
        "ingestion:document-detail",
        "chat:conversation-detail",
        "chat:conversation-messages",
        "chat:conversation-export",
        "chat:memory-list",
        "data-page",
        "document-page",
    } <= found
    assert any(CANARY in json.dumps(r["body"]) for r in fake_llm.requests)


def test_with_traces_opened_tenant_a_admin_reads_no_canary_of_the_document_in_a_trace(
    client, tenant_a, tenant_b, operator, fake_llm, fresh_breaker
):
    """The trace switch flipped the way it takes two people (A's admin asks, the operator agrees): A's
    admin reads the member's question in the trace, which is what trace reading opens, and nothing of
    the document only finance may read, which the admin's own ACL keeps out."""
    ids = _plant(tenant_a)
    actors = _actors(tenant_a, tenant_b, operator)
    admin = actors["tenant_a_admin"]
    asked = _call(client, admin, Probe("patch", "/api/v1/chat/settings/", {"admin_reads_traces": True}), ids)
    opened = _call(client, actors["operator"], PROBES["operator-trace-access"][1], ids)
    with schema_context("tenant_a"):
        client.force_login(admin.user)

    probes = (PROBES["chat:message-trace"][0], *PROBES["trace-page"])
    seen = {p.path: _call(client, admin, p, ids) for p in probes}
    with schema_context("tenant_a"):  # the control: in the group, the admin reads the secret in the trace
        group_member_add(group=tenant_a.finance_group, user=admin.user, actor=admin.user)
    control = {p.path: _call(client, admin, p, ids) for p in probes}

    question = f"{CANARY}question".encode()
    leaks = [path for path, body in seen.items() if CANARY.encode() in _unseen_by(admin, body).replace(question, b"")]
    assert asked[:3] == opened[:3] == b"200"
    assert all(body[:3] == b"200" and question in body for body in seen.values())
    assert leaks == []
    assert all(f"{CANARY}body".encode() in body for body in control.values())


def _audit_log(schema: str) -> bytes:
    from tenants.accounts.models import AuditEvent

    with schema_context(schema):
        return json.dumps(list(AuditEvent.objects.values()), default=str).encode()


def test_the_audit_log_is_no_side_store(client, tenant_a, tenant_b, operator, fake_llm, fresh_breaker):
    """Everything the insider and tenant B's admin did is audited, and the audit logs (which tenant A's
    admin, tenant B's admin and the operator read) hold no content: only tenant A's, the title and
    file name tenant A's admin gave the document."""
    fake_llm.answer("Nothing to add [1].")
    ids = _plant(tenant_a)
    worlds = {"tenant_a": tenant_a, "tenant_b": tenant_b}
    actors = _actors(tenant_a, tenant_b, operator)
    for name in ("tenant_a_insider", "tenant_b_admin"):
        _exercise(client, actors[name], worlds, ids)
        client.logout()

    audited = {schema: _audit_log(schema) for schema in ("tenant_a", "tenant_b", "public")}
    assert b'"group.created"' in audited["tenant_b"]  # B's admin's probes were audited there
    assert CANARY.encode() not in _unseen_by(actors["tenant_a_admin"], audited["tenant_a"])
    assert CANARY.encode() not in audited["tenant_b"] and CANARY.encode() not in audited["public"]
    assert f"{CANARY}title".encode() in audited["tenant_a"]  # the check reads the right log


def _view_methods(pattern: URLPattern) -> set[str]:
    view_class = getattr(pattern.callback, "view_class", None)
    if view_class is None:
        return set()
    return {m for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m)}


def _patterns(resolver: URLResolver, namespace: str = "") -> dict[str, set[str]]:
    found = {}
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            found |= _patterns(entry, entry.namespace or namespace)
        elif isinstance(entry, URLPattern):
            found[f"{namespace}:{entry.name}" if namespace else entry.name] = _view_methods(entry)
    return found


def test_every_endpoint_and_method_has_a_probe():
    endpoints = _patterns(get_resolver("config.urls_tenant")) | _patterns(get_resolver("config.urls_public"))

    assert set(PROBES) == set(endpoints)
    for name, methods in endpoints.items():
        assert methods <= {probe.method for probe in PROBES[name]}, name


def test_a_stored_export_of_tenant_a_holds_the_canary(tenant_a):
    """So the export probes above look for something that is there."""
    _plant(tenant_a)
    with schema_context("tenant_a"):
        export = TrainingExport.objects.get()
        assert CANARY in training.export_part(tenant=tenant_a.tenant, export=export, part="sft.jsonl").decode()
