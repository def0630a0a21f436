"""Many answers streaming at once through the real ASGI server, for two tenants: every stream
completes, and each sees only its own tenant's passages."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django_tenants.utils import schema_context

from chat.models import Conversation
from inference.models import LlmCall
from retrieval.models import Chunk
from tests.inference.fake_llm import FakeLlm
from tests.processes import in_own_connection, web_server
from tests.retrieval.conftest import plant

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

STREAMS_PER_TENANT = 6


@pytest.fixture
def two_libraries(world):
    worlds = {"tenant_a": world["a"], "tenant_b": world["b"]}
    documents = {
        schema: in_own_connection(
            lambda w=w, s=schema: plant(w, [f"The {s} travel policy: economy class for flights under six hours."])
        )
        for schema, w in worlds.items()
    }
    yield worlds, documents

    def remove():
        for schema, w in worlds.items():
            with schema_context(schema):
                Chunk.objects.filter(document_id=documents[schema]).delete()
                Conversation.objects.filter(user_id=w.legal.pk).delete()
                LlmCall.objects.all().delete()

    in_own_connection(remove)


def _ask(port: int, world) -> dict:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        headers = {"Authorization": f"Bearer {world.legal_key}"}
        conversation = client.post("/api/v1/conversations/", json={}, headers=headers).json()["id"]
        events, current = [], {}
        with client.stream(
            "POST",
            f"/api/v1/conversations/{conversation}/messages/",
            json={"content": "Which class for flights under six hours?"},
            headers=headers,
        ) as response:
            for line in response.iter_lines():
                if line.startswith("event: "):
                    current = {"event": line[7:]}
                elif line.startswith("data: ") and current:
                    current["data"] = line[6:]
                    events.append(current)
                    current = {}
    return {"events": events}


def test_concurrent_streams_for_two_tenants_all_finish_and_stay_apart(two_libraries):
    worlds, documents = two_libraries
    fake = FakeLlm()
    fake.answer("Economy class is used for flights under six hours [1].")
    fake.token_delay = 0.05
    with fake.running(), web_server(extra_env={"LLM_BASE_URL": fake.base_url, "ENCLAVE_QUOTE_SCORE": "1"}) as port:
        jobs = [w for w in worlds.values() for _ in range(STREAMS_PER_TENANT)]
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            results = list(pool.map(lambda w: (w, _ask(port, w)), jobs))

    for world, result in results:
        kinds = [event["event"] for event in result["events"]]
        assert kinds[0] == "sources" and kinds[-1] == "message", kinds
        sources = result["events"][0]["data"]
        own = documents[world.tenant.schema_name]
        other = documents["tenant_b" if world.tenant.schema_name == "tenant_a" else "tenant_a"]
        assert own in sources and other not in sources
        assert '"status": "complete"' in result["events"][-1]["data"]
