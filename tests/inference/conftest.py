import pytest
from django_tenants.utils import schema_context

from inference import client
from inference.breaker import CircuitBreaker
from tests.inference.fake_llm import FakeLlm


@pytest.fixture(autouse=True)
def fresh_breaker(monkeypatch):
    breaker = CircuitBreaker(threshold=3, cooldown=30.0)
    monkeypatch.setattr(client, "breaker", breaker)
    return breaker


@pytest.fixture
def fake_llm(settings):
    fake = FakeLlm()
    settings.LLM_BASE_URL = fake.base_url
    settings.ENCLAVE_QUOTE_SCORE = 1.0  # tests with a fake engine are about its drafts: it is always asked
    with fake.running():
        yield fake


@pytest.fixture
def in_tenant_a(tenant_a):
    with schema_context(tenant_a.tenant.schema_name):
        yield tenant_a
