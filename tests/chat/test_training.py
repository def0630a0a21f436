"""The training gate and exports: consent at every level, context taint, redaction, manifest, withdrawal."""

import ast
import hashlib
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django_tenants.utils import schema_context

from chat.conversations.services import answer_store, conversation_create, message_add
from chat.models import Feedback, Preference, TrainingExport
from chat.training import gate as gate_module
from chat.training import services
from chat.training.export import tenant_export
from ingestion.services import document_upload
from tenants.accounts.models import AuditEvent

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _document(world, *, no_train=False):
    document = document_upload(tenant=world.tenant, user=world.admin, filename="policy.txt", data=b"policy").document
    if no_train:
        document.no_train = True
        document.save(update_fields=["no_train"])
    return document


def _turn(world, conversation, question, answer, *, documents=(), status="complete", regenerate_of=None):
    if regenerate_of is None:
        message_add(tenant=world.tenant, conversation=conversation, role="user", content=question)
    return answer_store(
        tenant=world.tenant,
        conversation=conversation,
        content=answer,
        status=status,
        error_code="",
        citations=[],
        trace={},
        context_documents=[d.public_id for d in documents],
        regenerated_from=regenerate_of,
    )


def _consent(world, on=True):
    services.tenant_consent_set(tenant=world.tenant, consent=on, actor=world.admin)


def _export(world):
    with schema_context(world.tenant.schema_name):
        return tenant_export(tenant=world.tenant)


def _all_text(built) -> str:
    return json.dumps([built.sft, built.preferences])


def test_with_consent_off_nothing_is_exported_and_every_message_is_counted(tenant_a):
    with schema_context("tenant_a"):
        conversation = conversation_create(tenant=tenant_a.tenant, user=tenant_a.finance)
        _turn(tenant_a, conversation, "What is the travel policy?", "Economy under six hours [1].")

    built = _export(tenant_a)

    assert built.sft == [] and built.preferences == []
    assert built.manifest["excluded"]["messages"] == {"tenant_consent_off": 2}
    assert built.manifest["consent"]["tenant_training_consent"] is False


def test_a_no_train_document_in_context_excludes_that_answer_and_every_later_turn(tenant_a):
    with schema_context("tenant_a"):
        _consent(tenant_a)
        public, secret = _document(tenant_a), _document(tenant_a, no_train=True)
        conversation = conversation_create(tenant=tenant_a.tenant, user=tenant_a.finance)
        _turn(tenant_a, conversation, "Travel class?", "Economy [1].", documents=[public])
        _turn(tenant_a, conversation, "And the merger?", "Kestrel closes in March [1].", documents=[public, secret])
        _turn(tenant_a, conversation, "Thanks, summarise", "Economy, and a March close.", documents=[])

    built = _export(tenant_a)

    assert [m["content"] for m in built.sft[0]["messages"]] == ["Travel class?", "Economy [1]."]
    assert "Kestrel" not in _all_text(built) and "March" not in _all_text(built)
    assert built.manifest["excluded"]["messages"] == {"no_train_document_in_context": 1, "after_ineligible_context": 2}


@pytest.mark.parametrize("level", ["user", "conversation", "deleted_document", "unrecorded_context"])
def test_each_level_of_consent_is_checked(tenant_a, level):
    with schema_context("tenant_a"):
        _consent(tenant_a)
        document = _document(tenant_a)
        conversation = conversation_create(tenant=tenant_a.tenant, user=tenant_a.finance)
        answer = _turn(tenant_a, conversation, "Travel class?", "Economy [1].", documents=[document])
        if level == "user":
            tenant_a.finance.training_opt_out = True
            tenant_a.finance.save(update_fields=["training_opt_out"])
        elif level == "conversation":
            conversation.no_train = True
            conversation.save(update_fields=["no_train"])
        elif level == "deleted_document":
            document.delete()
        else:
            answer.context_documents = None
            answer.save(update_fields=["context_documents"])

    built = _export(tenant_a)

    expected = {
        "user": {"user_opted_out": 2},
        "conversation": {"conversation_no_train": 2},
        "deleted_document": {"context_document_deleted": 1},
        "unrecorded_context": {"context_not_recorded": 1},
    }[level]
    assert built.sft == []
    assert built.manifest["excluded"]["messages"] == expected


def test_incomplete_answers_stay_out_and_a_regeneration_still_pairs_with_its_question(tenant_a):
    with schema_context("tenant_a"):
        _consent(tenant_a)
        conversation = conversation_create(tenant=tenant_a.tenant, user=tenant_a.finance)
        first = _turn(tenant_a, conversation, "Travel class?", "Econ", status="incomplete")
        _turn(tenant_a, conversation, "", "Economy class.", regenerate_of=first)

    built = _export(tenant_a)

    assert built.sft[0]["messages"] == [
        {"role": "user", "content": "Travel class?"},
        {"role": "assistant", "content": "Economy class."},
    ]
    assert built.manifest["excluded"]["messages"] == {"answer_incomplete": 1}


def test_preferences_and_thumbs_become_dpo_rows_only_between_eligible_answers(tenant_a):
    with schema_context("tenant_a"):
        _consent(tenant_a)
        secret = _document(tenant_a, no_train=True)
        user = tenant_a.finance
        conversation = conversation_create(tenant=tenant_a.tenant, user=user)
        first = _turn(tenant_a, conversation, "Travel class?", "Business always.")
        second = _turn(tenant_a, conversation, "", "Economy under six hours.", regenerate_of=first)
        third = _turn(tenant_a, conversation, "", "Economy, per the memo.", regenerate_of=first, documents=[secret])
        Preference.objects.create(chosen=second, rejected=first, user=user)
        Preference.objects.create(chosen=third, rejected=first, user=user)
        Feedback.objects.create(message=second, user=user, rating=1)
        Feedback.objects.create(message=first, user=user, rating=-1)

    built = _export(tenant_a)

    assert [(r["prompt"], r["chosen"], r["rejected"], r["source"]) for r in built.preferences] == [
        ("Travel class?", "Economy under six hours.", "Business always.", "preference")
    ]
    assert built.sft[0]["messages"][1]["content"] == "Economy under six hours."  # the preferred answer
    assert "memo" not in _all_text(built)
    assert built.manifest["excluded"]["messages"] == {"no_train_document_in_context": 1}
    assert built.manifest["excluded"]["preferences_with_a_held_back_answer"] == 1


def test_exports_redact_personal_data_and_the_manifest_hashes_match(tenant_a):
    with schema_context("tenant_a"):
        _consent(tenant_a)
        conversation = conversation_create(tenant=tenant_a.tenant, user=tenant_a.finance)
        _turn(
            tenant_a,
            conversation,
            "Email fay at fay.jones@example.com or call +44 20 7946 0958 about card 4111 1111 1111 1111",
            "Fay should ask Dr. Martin Keller.",
        )
        export = services.export_create(tenant=tenant_a.tenant, actor=tenant_a.admin)
        sft = services.export_part(tenant=tenant_a.tenant, export=export, part="sft.jsonl")

    text = sft.decode()
    for secret in ("fay.jones@example.com", "7946 0958", "4111 1111", "Martin Keller", "Fay"):
        assert secret not in text
    assert "[EMAIL]" in text and "[PHONE]" in text and "[CARD]" in text and "[NAME]" in text
    assert export.manifest["files"]["sft.jsonl"]["sha256"] == hashlib.sha256(sft).hexdigest()
    row = json.loads(sft.splitlines()[0])
    row_hash = row.pop("sha256")
    assert row_hash == hashlib.sha256(json.dumps(row, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    assert export.manifest["redactions"]["email"] == 1
    assert export.manifest["counts"]["sft_exchanges"] == 1


def test_withdrawing_consent_deletes_stored_exports_and_refuses_the_next_one(tenant_a, api):
    with schema_context("tenant_a"):
        conversation = conversation_create(tenant=tenant_a.tenant, user=tenant_a.finance)
        _turn(tenant_a, conversation, "Travel class?", "Economy.")
    turned_on = api("patch", "/api/v1/training/consent/", key=tenant_a.admin_key, data={"training_consent": True})
    created = api("post", "/api/v1/training/exports/", key=tenant_a.admin_key)
    export_id = created.json()["id"]

    withdrawn = api("patch", "/api/v1/training/consent/", key=tenant_a.admin_key, data={"training_consent": False})
    refused = api("post", "/api/v1/training/exports/", key=tenant_a.admin_key)

    assert turned_on.status_code == 200 and created.status_code == 201
    assert created.json()["manifest"]["counts"]["sft_conversations"] == 1
    assert withdrawn.json() == {"training_consent": False, "removed": {"training_exports": 1}}
    assert api("get", f"/api/v1/training/exports/{export_id}/", key=tenant_a.admin_key).status_code == 404
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "training_consent_off"
    with schema_context("tenant_a"):
        changes = AuditEvent.objects.filter(action="training.consent_changed").values_list("detail", flat=True)
        assert [c["to"]["training_consent"] for c in changes.order_by("id")] == [True, False]


def test_only_a_tenant_admin_changes_consent_or_exports(api, tenant_a):
    for method, path in [
        ("patch", "/api/v1/training/consent/"),
        ("get", "/api/v1/training/exports/"),
        ("post", "/api/v1/training/exports/"),
    ]:
        response = api(method, path, key=tenant_a.finance_key, data={"training_consent": True})
        assert response.status_code == 403, path
    with schema_context("tenant_a"):
        assert not TrainingExport.objects.exists()
    tenant_a.tenant.refresh_from_db()
    assert tenant_a.tenant.training_consent is False


def test_export_files_download_for_the_admin(api, tenant_a):
    with schema_context("tenant_a"):
        _consent(tenant_a)
        conversation = conversation_create(tenant=tenant_a.tenant, user=tenant_a.finance)
        _turn(tenant_a, conversation, "Travel class?", "Economy.")
    export_id = api("post", "/api/v1/training/exports/", key=tenant_a.admin_key).json()["id"]

    sft = api("get", f"/api/v1/training/exports/{export_id}/sft.jsonl", key=tenant_a.admin_key)
    other = api("get", f"/api/v1/training/exports/{export_id}/secrets.txt", key=tenant_a.admin_key)

    assert sft.status_code == 200 and sft["Content-Type"] == "application/jsonl"
    assert json.loads(sft.content.splitlines()[0])["messages"][1]["content"] == "Economy."
    assert other.status_code == 404


def test_a_user_opting_out_removes_exports_drawing_on_them(api, tenant_a):
    with schema_context("tenant_a"):
        _consent(tenant_a)
        conversation = conversation_create(tenant=tenant_a.tenant, user=tenant_a.finance)
        _turn(tenant_a, conversation, "Travel class?", "Economy.")
        services.export_create(tenant=tenant_a.tenant, actor=tenant_a.admin)

    response = api("put", "/api/v1/me/training/", key=tenant_a.finance_key, data={"opt_out": True})

    assert response.json() == {"opt_out": True, "removed": {"training_exports": 1}}
    built = _export(tenant_a)
    assert built.sft == [] and built.manifest["excluded"]["messages"] == {"user_opted_out": 2}


def test_operator_export_holds_consenting_tenants_only_labelled_by_tenant(api, tenant_a, tenant_b, operator):
    for world, text in ((tenant_a, "Economy for A."), (tenant_b, "Economy for B.")):
        with schema_context(world.tenant.schema_name):
            conversation = conversation_create(tenant=world.tenant, user=world.finance)
            _turn(world, conversation, "Travel class?", text)
    with schema_context("tenant_a"):
        _consent(tenant_a)

    response = api("post", "/api/v1/operator/training-export/", key=operator.key)

    body = response.json()
    assert response.status_code == 200
    assert [(row["tenant"], row["messages"][1]["content"]) for row in body["sft"]] == [("tenant_a", "Economy for A.")]
    assert "tenant_b" in body["manifest"]["tenants_without_consent"]
    assert "Economy for B." not in response.content.decode()
    assert api("post", "/api/v1/operator/training-export/", key=tenant_a.admin_key).status_code == 404


def test_the_command_writes_files_and_refuses_without_consent(tenant_a, tmp_path):
    with schema_context("tenant_a"):
        conversation = conversation_create(tenant=tenant_a.tenant, user=tenant_a.finance)
        _turn(tenant_a, conversation, "Travel class?", "Economy.")
    with pytest.raises(Exception, match="not consented"):
        call_command("training_export", "--tenant", "tenant_a", "--out", str(tmp_path / "refused"))
    with schema_context("tenant_a"):
        _consent(tenant_a)

    call_command("training_export", "--tenant", "tenant_a", "--out", str(tmp_path / "a"))

    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["counts"]["sft_conversations"] == 1
    assert (tmp_path / "a" / "sft.jsonl").read_bytes().count(b"\n") == 1
    assert not (tmp_path / "refused" / "sft.jsonl").exists()


def test_the_export_reads_conversations_only_through_the_gate(tenant_a, monkeypatch):
    with schema_context("tenant_a"):
        _consent(tenant_a)
        conversation = conversation_create(tenant=tenant_a.tenant, user=tenant_a.finance)
        _turn(tenant_a, conversation, "Travel class?", "Economy.")
    real = _export(tenant_a)
    empty = gate_module.GateResult(tenant="tenant_a", consent={}, conversations=[], excluded=gate_module.Counter())
    monkeypatch.setattr("chat.training.export.gate", lambda tenant: empty)

    gated = _export(tenant_a)

    assert real.sft and gated.sft == [] and gated.preferences == []


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return names


def test_no_module_but_the_gate_reads_conversation_data_for_training():
    conversation_data = {f"chat.models.{name}" for name in ("Conversation", "Message", "Feedback", "Preference")}
    readers = {"chat.conversations.selectors", "tenants.crypto.decrypt_text", *conversation_data}
    for path in (ROOT / "chat" / "training").glob("*.py"):
        if path.name != "gate.py":
            assert not (_imports(path) & readers), path.name
    gate_users = {
        path.relative_to(ROOT).as_posix()
        for path in ROOT.rglob("*.py")
        if ".venv" not in path.parts and "tests" not in path.parts and "chat.training.gate" in " ".join(_imports(path))
    }
    assert gate_users == {"chat/training/export.py"}
    assert "FROM chat_message" in gate_module.MESSAGES_SQL
    raw_readers = {
        path.relative_to(ROOT).as_posix()
        for path in ROOT.rglob("*.py")
        if not ({".venv", "tests", "migrations"} & set(path.parts)) and "chat_message" in path.read_text()
    }
    assert raw_readers == {"chat/training/gate.py"}
    exporters = {
        path.relative_to(ROOT).as_posix()
        for path in ROOT.rglob("*.py")
        if ".venv" not in path.parts
        and "tests" not in path.parts
        and "chat.training.export" in " ".join(_imports(path))
    }
    assert exporters <= {"chat/training/services.py", "chat/management/commands/training_export.py"}
