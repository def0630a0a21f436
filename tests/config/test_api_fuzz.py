"""Schema-driven fuzzing (issue #15 item 7): schemathesis reads the published OpenAPI schema from the
running ASGI server and sends every operation generated requests, valid and invalid, with a tenant
admin's key. No request may get a server error, and every 4xx must carry the JSON error body.

It runs in a tenant of its own, created and deleted here, because the requests change what they
may (settings, groups, keys). The model is a scripted engine; hypothesis is derandomized, so a run
is repeatable, and the examples per operation are bounded."""

import json

import pytest
import schemathesis
from django_tenants.utils import schema_context
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.generation import GenerationMode

from tenants import services
from tenants.accounts import services as accounts
from tenants.models import Tenant
from tests.conftest import PASSWORD
from tests.inference.fake_llm import FakeLlm
from tests.processes import in_own_connection, web_server

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

EXAMPLES_PER_OPERATION = 12
SCHEMA = "tenant_fuzz"


@pytest.fixture
def fuzz_tenant(world):
    def create():
        created = services.tenant_create(
            name="Fuzz", schema_name=SCHEMA, admin_username="admin", admin_password=PASSWORD
        )
        with schema_context(SCHEMA):
            key = accounts.api_key_create(user=created.admin, name="fuzz", actor=created.admin)[1]
        return services.tenant_domain(SCHEMA), key

    yield in_own_connection(create)
    in_own_connection(lambda: services.tenant_delete(tenant=Tenant.objects.get(schema_name=SCHEMA)))


def problem_with(response) -> str | None:
    if response.status_code >= 500:
        return f"server error {response.status_code}"
    if 400 <= response.status_code < 500:
        try:
            body = response.json()
        except ValueError:
            return f"{response.status_code} without a JSON body"
        if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
            return f"{response.status_code} without an error object"
    return None


def fuzz(operation, mode: GenerationMode, *, base_url: str, headers: dict, found: list) -> int:
    calls = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        response = case.call(base_url=base_url, headers=headers, timeout=120)
        calls.append(response.status_code)
        problem = problem_with(response)
        if problem:
            sent = json.dumps(case.body, default=str)[:200] if case.body is not None else ""
            found.append(f"{case.method} {case.formatted_path} {sent}: {problem}: {response.text[:200]}")

    run()
    return len(calls)


def test_no_generated_request_gets_a_server_error_and_every_4xx_is_a_json_error(fuzz_tenant):
    host, key = fuzz_tenant
    found: list[str] = []
    calls = 0
    fake = FakeLlm()
    fake.answer("Nothing to add.")
    with fake.running(), web_server(extra_env={"LLM_BASE_URL": fake.base_url}) as port:
        base_url = f"http://127.0.0.1:{port}"
        schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/schema/", headers={"Host": host})
        operations = [result.ok() for result in schema.get_all_operations()]
        headers = {"Host": host, "Authorization": f"Bearer {key}"}
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                calls += fuzz(operation, mode, base_url=base_url, headers=headers, found=found)

    assert len(operations) > 50 and calls > 4 * len(operations)
    assert not found, "\n".join(found)
