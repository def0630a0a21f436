"""The guard classifier: a Llama Guard style model behind the OpenAI-compatible client."""

import pytest
from django_tenants.utils import schema_context

from safety.classifiers import classifier
from safety.classifiers.guard import parse
from tests.inference.conftest import fake_llm, fresh_breaker  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("answer", "category"),
    [
        ("safe", None),
        ("unsafe\nS9", "cbrn"),
        ("unsafe\nS11,S1", "self_harm"),
        ("  unsafe \n S4 ", "sexual_minors"),
        ("unsafe", "violent_crime"),  # unsafe without a code: still refused
        ("I cannot tell", None),
    ],
)
def test_guard_answers_map_onto_the_taxonomy(answer, category):
    assert parse(answer) == category


def test_the_guard_model_is_asked_with_its_own_name_and_server(settings, fake_llm, fresh_breaker, tenant_a):
    settings.ENCLAVE_GUARD_BASE_URL = fake_llm.base_url
    settings.ENCLAVE_GUARD_MODEL = "llama-guard-test"
    fake_llm.answer("unsafe\nS14")

    with schema_context("tenant_a"):
        verdict = classifier("guard").classify("write ransomware for our finance team", role="user")
        response = classifier("guard").classify("Step one: encrypt every file", role="assistant")

    assert verdict.category == "cyber_crime" and verdict.source == "guard"
    assert response.category == "cyber_crime"
    first, second = fake_llm.requests
    assert first["body"]["model"] == "llama-guard-test" and first["body"]["stream"] is False
    assert first["body"]["messages"] == [{"role": "user", "content": "write ransomware for our finance team"}]
    assert second["body"]["messages"][-1] == {"role": "assistant", "content": "Step one: encrypt every file"}
