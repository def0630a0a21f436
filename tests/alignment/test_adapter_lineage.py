"""Every way of taking data back retires the adapters that learnt from it, and only those."""

import uuid

import pytest
from django_tenants.utils import schema_context

from chat.conversations.services import conversation_delete, conversation_no_train_set
from chat.models import Conversation
from chat.training.services import tenant_consent_set
from inference import adapters, client
from inference.models import Adapter
from ingestion.services import document_delete, document_no_train_set, document_upload
from tenants.accounts.models import AuditEvent, User
from tenants.accounts.services import training_opt_out_set

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_file_store(settings, tmp_path):
    """The stand-in adapter files here are no GGUF: kept away from the session's store an engine loads."""
    settings.ENCLAVE_FILE_STORE = str(tmp_path)


def _adapter(label: str, **lineage) -> Adapter:
    name = adapters.new_name()
    folder = adapters.adapter_folder("tenant_a", name)
    folder.mkdir(parents=True)
    (folder / adapters.ENGINE_FILE).write_bytes(b"GGUF")
    return adapters.adapter_register(
        name=name, label=label, run_id=uuid.uuid4(), card={}, lineage=lineage, public_data_only=not lineage
    )


def _withdraw(world, what: str, conversation, document) -> dict:
    actions = {
        "conversation deleted": lambda: conversation_delete(
            tenant=world.tenant, conversation=conversation, actor=world.legal
        )["removed"],
        "conversation no-train": lambda: conversation_no_train_set(
            tenant=world.tenant, conversation=conversation, no_train=True, actor=world.legal
        ),
        "document no-train": lambda: _document_no_train(world, document),
        "document deleted": lambda: document_delete(tenant=world.tenant, document=document, actor=world.admin),
        "person opted out": lambda: training_opt_out_set(user=User.objects.get(pk=world.legal.pk), opt_out=True)[
            "removed"
        ],
    }
    return actions[what]()


def _document_no_train(world, document) -> dict:
    """The receipt of a document's withdrawal is in its audit entry (the service returns the document)."""
    document_no_train_set(tenant=world.tenant, document=document, no_train=True, actor=world.admin)
    return AuditEvent.objects.filter(action="document.no_train_changed").latest("id").detail["removed"]


@pytest.mark.parametrize(
    "what",
    ["conversation deleted", "conversation no-train", "document no-train", "document deleted", "person opted out"],
)
def test_taking_back_what_an_adapter_learnt_from_retires_it_and_no_other(
    tenant_a, what, django_capture_on_commit_callbacks
):
    with schema_context("tenant_a"):
        conversation = Conversation.objects.create(user=tenant_a.legal, title_encrypted=b"")
        document = document_upload(
            tenant=tenant_a.tenant, user=tenant_a.admin, filename="p.txt", data=b"policy"
        ).document
        learnt = _adapter(
            "learnt",
            conversation_ids=[str(conversation.public_id)],
            document_ids=[str(document.public_id)],
            user_ids=[str(tenant_a.legal.public_id)],
        )
        other = _adapter("other", conversation_ids=[str(uuid.uuid4())], user_ids=[str(tenant_a.finance.public_id)])
        _adapter("public data only")
        with django_capture_on_commit_callbacks(execute=True):
            removed = _withdraw(tenant_a, what, conversation, document)
        states = dict(Adapter.objects.values_list("label", "status"))
        known = client.adapters_known()
    assert removed["adapters_retired"] == [learnt.name]
    assert states == {"learnt": "retired", "other": "active", "public data only": "active"}
    assert learnt.name not in known and other.name in known
    assert not adapters.adapter_folder("tenant_a", learnt.name).exists()
    assert adapters.adapter_folder("tenant_a", other.name).exists()


def test_withdrawing_the_tenants_consent_retires_every_adapter_of_its_data_but_not_public_ones(
    tenant_a, django_capture_on_commit_callbacks
):
    with schema_context("tenant_a"):
        tenant_consent_set(tenant=tenant_a.tenant, consent=True, actor=tenant_a.admin)
        first = _adapter("one", user_ids=[str(tenant_a.legal.public_id)])
        second = _adapter("two", conversation_ids=[str(uuid.uuid4())])
        public = _adapter("public data only")
        with django_capture_on_commit_callbacks(execute=True):
            outcome = tenant_consent_set(tenant=tenant_a.tenant, consent=False, actor=tenant_a.admin)
        states = dict(Adapter.objects.values_list("name", "status"))
    assert sorted(outcome["removed"]["adapters_retired"]) == sorted([first.name, second.name])
    assert states == {first.name: "retired", second.name: "retired", public.name: "active"}
