import pytest
from django_tenants.utils import schema_context

from chat.conversations.services import conversation_create
from chat.models import Conversation
from inference.models import LlmCall
from retrieval.models import Chunk
from tests.inference.conftest import fake_llm, fresh_breaker  # noqa: F401  (fixtures)
from tests.processes import in_own_connection
from tests.retrieval.conftest import group_principal, plant


@pytest.fixture
def handbook(tenant_a):
    """Tenant A: a public travel policy, and a merger memo only the finance group may read."""
    return {
        "travel": plant(
            tenant_a,
            [
                "Employees may book economy class for flights shorter than six hours. "
                "Longer flights may be business class."
            ],
            title="travel-policy",
        ),
        "merger": plant(
            tenant_a,
            ["Project Zanzibar: the acquisition of Kestrel Labs closes in March for 42 million euros."],
            title="zanzibar-memo",
            acl=[group_principal(tenant_a.finance_group)],
        ),
    }


@pytest.fixture
def open_traces(api, operator):
    """Open a tenant's answer traces to its admins the way it takes two people: the operator agrees (an
    admin alone only asks)."""

    def open_(world):
        path = f"/api/v1/operator/tenants/{world.tenant.pk}/trace-access/"
        response = api("put", path, key=operator.key, data={"admin_reads_traces": True})
        assert response.status_code == 200 and response.json()["admin_reads_traces"] is True

    return open_


@pytest.fixture
def conversation_of():
    def make(world, user, title="Questions"):
        with schema_context(world.tenant.schema_name):
            return conversation_create(tenant=world.tenant, user=user, title=title)

    return make


@pytest.fixture
def committed_handbook(world):
    tenant_a = world["a"]
    documents = in_own_connection(
        lambda: [
            plant(
                tenant_a,
                ["Employees may book economy class for flights shorter than six hours."],
                title="travel-policy",
            ),
            plant(
                tenant_a,
                ["Project Zanzibar: Kestrel Labs is acquired for 42 million euros."],
                title="zanzibar-memo",
                acl=[group_principal(tenant_a.finance_group)],
            ),
        ]
    )
    yield tenant_a, documents

    def remove():
        with schema_context(tenant_a.tenant.schema_name):
            Chunk.objects.filter(document_id__in=documents).delete()
            Conversation.objects.filter(user_id=tenant_a.legal.pk).delete()  # with messages, feedback, traces
            LlmCall.objects.all().delete()  # the web server's calls were committed

    in_own_connection(remove)
