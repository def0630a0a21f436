"""Every endpoint that takes an id: another tenant gets 404, an anonymous caller 401.

ID_ENDPOINTS must name every URL pattern with a path parameter in both URL confs; the last test
fails when a new one is added without being listed here.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django_tenants.utils import schema_context

from alignment.models import AlignmentRun
from chat.conversations.services import answer_store, conversation_create
from chat.memory.services import remember
from chat.models import Experiment, TrainingExport
from inference import adapters
from ingestion.services import document_upload
from tenants.accounts.models import ApiKey, User

pytestmark = pytest.mark.django_db

# url name -> (methods, path template built from tenant A's objects)
ID_ENDPOINTS = {
    "accounts:user-detail": (["get", "patch", "delete"], "/api/v1/users/{user}/"),
    "accounts:user-erase": (["post"], "/api/v1/users/{user}/erase/"),
    "accounts:group-detail": (["get", "patch", "delete"], "/api/v1/groups/{group}/"),
    "accounts:group-member-list": (["get", "post"], "/api/v1/groups/{group}/members/"),
    "accounts:group-member-detail": (["delete"], "/api/v1/groups/{group}/members/{user}/"),
    "accounts:api-key-detail": (["get", "delete"], "/api/v1/api-keys/{api_key}/"),
    "ingestion:document-detail": (["get", "patch", "delete"], "/api/v1/documents/{document}/"),
    "ingestion:document-version-list": (["post"], "/api/v1/documents/{document}/versions/"),
    "ingestion:document-reingest": (["post"], "/api/v1/documents/{document}/reingest/"),
    "chat:conversation-detail": (["get", "patch", "delete"], "/api/v1/conversations/{conversation}/"),
    "chat:conversation-messages": (["get", "post"], "/api/v1/conversations/{conversation}/messages/"),
    "chat:message-regenerate": (["post"], "/api/v1/messages/{message}/regenerate/"),
    "chat:message-feedback": (["post"], "/api/v1/messages/{message}/feedback/"),
    "chat:message-preference": (["post"], "/api/v1/messages/{message}/preference/"),
    "chat:message-trace": (["get"], "/api/v1/messages/{message}/trace/"),
    "chat:memory-detail": (["delete"], "/api/v1/memories/{memory}/"),
    "evaluation:experiment-detail": (["get"], "/api/v1/experiments/{experiment}/"),
    "evaluation:experiment-start": (["post"], "/api/v1/experiments/{experiment}/start/"),
    "evaluation:experiment-promote": (["post"], "/api/v1/experiments/{experiment}/promote/"),
    "evaluation:experiment-stop": (["post"], "/api/v1/experiments/{experiment}/stop/"),
    "chat:training-export-detail": (["get", "delete"], "/api/v1/training/exports/{export}/"),
    "chat:training-export-file": (["get"], "/api/v1/training/exports/{export}/sft.jsonl"),
    "alignment:adapter-detail": (["get", "delete"], "/api/v1/adapters/{adapter}/"),
    # Models are the appliance's, not a tenant's: another tenant's object id is no model anywhere.
    "openai-model-detail": (["get"], "/v1/models/{document}"),
}
# Pages and console forms (session only): signed out they send to sign-in; another tenant's ids are not
# found (a page is a 404; a form comes back with "That no longer exists here." and changes nothing).
PAGE_ID_ENDPOINTS = {
    "document-page": (["get"], "/documents/{document}/"),
    "document-edit": (["post"], "/documents/{document}/edit/"),
    "document-version-upload": (["post"], "/documents/{document}/versions/"),
    "document-delete": (["post"], "/documents/{document}/delete/"),
    "document-reingest": (["post"], "/documents/{document}/reingest/"),
    "trace-page": (["get"], "/traces/{message}/"),
    "experiment-act": (["post"], "/experiments/{experiment}/start/"),
    "console-user-update": (["post"], "/console/users/{user}/"),
    "console-user-erase": (["post"], "/console/users/{user}/erase/"),
    "console-group-delete": (["post"], "/console/groups/{group}/delete/"),
    "console-group-member-add": (["post"], "/console/groups/{group}/members/"),
    "console-group-member-remove": (["post"], "/console/groups/{group}/members/{user}/remove/"),
    "console-api-key-revoke": (["post"], "/console/api-keys/{api_key}/revoke/"),
    "data-memory-forget": (["post"], "/data/memories/{memory}/forget/"),
    "data-export-delete": (["post"], "/data/exports/{export}/delete/"),
}
OPERATOR_PAGE_ID_ENDPOINTS = {
    "console-tenant-suspend": (["post"], "/console/tenants/{tenant}/suspend/"),
    "console-tenant-resume": (["post"], "/console/tenants/{tenant}/resume/"),
    "console-tenant-delete": (["post"], "/console/tenants/{tenant}/delete/"),
    "console-tenant-limits": (["post"], "/console/tenants/{tenant}/limits/"),
    "console-tenant-usage": (["post"], "/console/tenants/{tenant}/usage/"),
    "console-operator-update": (["post"], "/console/operators/{operator}/"),
}
OPERATOR_ID_ENDPOINTS = {
    "operator:tenant-detail": (["get", "delete"], "/api/v1/operator/tenants/{tenant}/"),
    "operator:tenant-suspend": (["post"], "/api/v1/operator/tenants/{tenant}/suspend/"),
    "operator:tenant-resume": (["post"], "/api/v1/operator/tenants/{tenant}/resume/"),
    "operator:tenant-usage": (["post"], "/api/v1/operator/tenants/{tenant}/usage/"),
    "operator:tenant-limits": (["put"], "/api/v1/operator/tenants/{tenant}/limits/"),
    "operator:operator-detail": (["patch"], "/api/v1/operator/operators/{operator}/"),
    "operator-experiment-list": (["get", "post"], "/api/v1/operator/tenants/{tenant}/experiments/"),
    "operator-experiment-start": (["post"], "/api/v1/operator/tenants/{tenant}/experiments/{experiment}/start/"),
    "operator-experiment-promote": (["post"], "/api/v1/operator/tenants/{tenant}/experiments/{experiment}/promote/"),
    "operator-experiment-stop": (["post"], "/api/v1/operator/tenants/{tenant}/experiments/{experiment}/stop/"),
    "operator-trace-access": (["get", "put"], "/api/v1/operator/tenants/{tenant}/trace-access/"),
    "operator-alignment-run-list": (["get", "post"], "/api/v1/operator/tenants/{tenant}/alignment-runs/"),
    "operator-alignment-run-detail": (["get"], "/api/v1/operator/tenants/{tenant}/alignment-runs/{run}/"),
}


def _paths(world) -> dict:
    with schema_context("tenant_a"):
        api_key = ApiKey.objects.get(prefix=world.admin_key.split("_")[1])
        document = document_upload(tenant=world.tenant, user=world.admin, filename="a.txt", data=b"tenant a only")
        conversation = conversation_create(tenant=world.tenant, user=world.admin, title="tenant a only")
        message = answer_store(
            tenant=world.tenant,
            conversation=conversation,
            content="tenant a only",
            status="complete",
            error_code="",
            citations=[],
            trace={},
            context_documents=[],
        )
        fact = remember(tenant=world.tenant, user=world.admin, text="tenant a only")
        export = TrainingExport.objects.create(sft_encrypted=b"", preferences_encrypted=b"")
        experiment = Experiment.objects.create(
            name="tenant a only",
            control={"name": "a"},
            treatment={"name": "b", "settings": {"temperature": 0.1}},
            traffic_share=0.5,
        )
        run = AlignmentRun.objects.create(name="tenant a only", recipe={})
        adapter = adapters.adapter_register(
            name=adapters.new_name(),
            label="tenant a only",
            run_id=run.public_id,
            card={},
            lineage={},
            public_data_only=False,
        )
    return {
        "adapter": adapter.public_id,
        "run": run.public_id,
        "export": export.public_id,
        "experiment": experiment.public_id,
        "memory": fact.public_id,
        "message": message.public_id,
        "conversation": conversation.public_id,
        "document": document.document.public_id,
        "user": world.finance.public_id,
        "group": world.finance_group.public_id,
        "api_key": api_key.public_id,
        "tenant": world.tenant.pk,
        "operator": User.objects.filter(role=User.Role.OPERATOR).values_list("public_id", flat=True).first(),
    }


def _cases(table):
    return [(name, method, template) for name, (methods, template) in table.items() for method in methods]


@pytest.mark.parametrize(("name", "method", "template"), _cases(ID_ENDPOINTS))
def test_another_tenants_admin_gets_404_for_tenant_a_ids(api, tenant_a, tenant_b, name, method, template):
    path = template.format(**_paths(tenant_a))

    response = api(method, path, key=tenant_b.admin_key, data={"user_id": str(tenant_a.finance.public_id)})

    assert response.status_code == 404, (name, method, response.content)
    assert str(tenant_a.finance.public_id) not in response.content.decode()


@pytest.mark.parametrize(("name", "method", "template"), _cases(ID_ENDPOINTS))
def test_another_tenants_session_on_its_own_host_gets_404(client, tenant_a, tenant_b, name, method, template):
    with schema_context("tenant_b"):
        client.force_login(tenant_b.admin)
    path = template.format(**_paths(tenant_a))

    response = getattr(client, method)(path, HTTP_HOST=tenant_b.host, content_type="application/json")

    assert response.status_code == 404, (name, method)


@pytest.mark.parametrize(("name", "method", "template"), _cases(ID_ENDPOINTS))
def test_an_anonymous_caller_gets_401(api, tenant_a, name, method, template):
    response = api(method, template.format(**_paths(tenant_a)), host=tenant_a.host)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(("name", "method", "template"), _cases(OPERATOR_ID_ENDPOINTS))
def test_operator_endpoints_refuse_anonymous_and_tenant_callers(api, tenant_a, name, method, template):
    path = template.format(**_paths(tenant_a))

    anonymous = api(method, path)
    tenant_admin = api(method, path, key=tenant_a.admin_key)

    assert anonymous.status_code == 401
    assert tenant_admin.status_code == 404  # the operator API does not exist on a tenant's URL conf


@pytest.mark.parametrize(("name", "method", "template"), _cases(PAGE_ID_ENDPOINTS))
def test_pages_send_a_signed_out_caller_to_sign_in(client, tenant_a, name, method, template):
    response = getattr(client, method)(template.format(**_paths(tenant_a)), HTTP_HOST=tenant_a.host)

    assert response.status_code == 302 and response["Location"].startswith("/login/"), name


@pytest.mark.parametrize(("name", "method", "template"), _cases(PAGE_ID_ENDPOINTS))
def test_pages_do_not_find_another_tenants_ids(client, tenant_a, tenant_b, name, method, template):
    with schema_context("tenant_b"):
        client.force_login(tenant_b.admin)
    paths = _paths(tenant_a)
    data = {"user_id": str(paths["user"]), "confirm": "fay", "acl": "everyone", "title": "taken"}

    response = getattr(client, method)(template.format(**paths), data, HTTP_HOST=tenant_b.host, follow=True)

    if method == "get":
        assert response.status_code == 404, name
    else:
        assert "That no longer exists here." in response.content.decode(), name
    assert str(tenant_a.finance.public_id) not in response.content.decode()


@pytest.mark.parametrize(("name", "method", "template"), _cases(OPERATOR_PAGE_ID_ENDPOINTS))
def test_operator_forms_refuse_anonymous_and_tenant_callers(client, tenant_a, name, method, template):
    path = template.format(**_paths(tenant_a))

    anonymous = client.post(path, {"confirm": "tenant_a"}, HTTP_HOST="localhost")
    with schema_context("tenant_a"):
        client.force_login(tenant_a.admin)
    tenant_admin = client.post(path, {"confirm": "tenant_a"}, HTTP_HOST=tenant_a.host)

    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    assert tenant_admin.status_code == 404  # the operator's forms do not exist on a tenant's URL conf


def _named_patterns_with_parameters(resolver: URLResolver, namespace: str = "") -> set[str]:
    names = set()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            names |= _named_patterns_with_parameters(entry, entry.namespace or namespace)
        elif isinstance(entry, URLPattern) and entry.pattern.converters:
            names.add(f"{namespace}:{entry.name}" if namespace else entry.name)
    return names


def test_every_endpoint_with_an_id_is_covered_by_the_isolation_tests():
    tenant_names = _named_patterns_with_parameters(get_resolver("config.urls_tenant"))
    public_names = _named_patterns_with_parameters(get_resolver("config.urls_public"))

    assert tenant_names == set(ID_ENDPOINTS) | set(PAGE_ID_ENDPOINTS)
    assert public_names == set(OPERATOR_ID_ENDPOINTS) | set(OPERATOR_PAGE_ID_ENDPOINTS)
