"""GET /api/v1/usage/llm/: a tenant admin sees the tenant's own metering, nobody else does."""

import pytest
from django_tenants.utils import schema_context

from inference.client import chat_stream

pytestmark = pytest.mark.django_db

URL = "/api/v1/usage/llm/"
HELLO = [{"role": "user", "content": "Say hello."}]


def _calls(world, user, count):
    with schema_context(world.tenant.schema_name):
        for _ in range(count):
            list(chat_stream(HELLO, max_tokens=16, user_id=user.public_id))


def test_an_admin_sees_totals_per_user_and_the_limits(api, fake_llm, tenant_a):
    _calls(tenant_a, tenant_a.finance, 2)
    _calls(tenant_a, tenant_a.legal, 1)

    body = api("get", URL, key=tenant_a.admin_key).json()

    assert body["totals"]["requests"] == 3 and body["totals"]["completion_tokens"] == 9
    assert {row["user_id"]: row["requests"] for row in body["by_user"]} == {
        str(tenant_a.finance.public_id): 2,
        str(tenant_a.legal.public_id): 1,
    }
    assert body["limits"]["requests_per_minute"] > 0


def test_another_tenant_sees_none_of_it(api, fake_llm, tenant_a, tenant_b):
    _calls(tenant_a, tenant_a.finance, 2)

    body = api("get", URL, key=tenant_b.admin_key).json()

    assert body["totals"]["requests"] == 0 and body["by_user"] == []


def test_members_and_strangers_are_refused(api, tenant_a):
    assert api("get", URL, key=tenant_a.finance_key).status_code == 403
    assert api("get", URL, host=tenant_a.host).status_code == 401
    assert api("get", URL + "?days=0", key=tenant_a.admin_key).status_code == 400
