"""From consented feedback to a served adapter, and back out again when the data behind it is erased.

One tenant's rated conversations → its admin's export → an operator's alignment run (TRL: SFT then DPO, a few
steps on the real bundled base) → an adapter in that tenant only → a variant naming it → an experiment started
through the safety gate → answers from the real embedded engine, tagged with their arm → promotion. Then the
person whose conversation trained it is erased: the adapter is retired (not applied, files gone, named on the
receipt) and the promoted variant falls back to the base model.
"""

import json

import pytest
from django_tenants.utils import schema_context

from alignment.data import training_data
from alignment.models import AlignmentRun
from alignment.recipe import recipe_from
from alignment.tasks import align_run
from chat.answer.variants import DEFAULT, variant_from, variant_stored
from chat.conversations.services import answer_store, message_add
from chat.models import Conversation, Experiment, Feedback, Message
from chat.training import services as training
from evaluation.models import EvaluationRun
from evaluation.runs import run_record
from evaluation.safety import DATASETS, measured, sets_load, variant_rates
from inference import adapters, client
from inference.models import Adapter, LlmCall
from tenants.accounts import services as accounts
from tenants.accounts.models import User
from tenants.models import Tenant
from tests.processes import llama_server_process
from tests.retrieval.conftest import plant

pytestmark = pytest.mark.django_db
CANARY = "Quillfeather-canary-41"
QUESTION = "Which class may I book for a four hour flight?"
GOOD = "Economy class, for flights shorter than six hours [1]."
BAD = "Any class you like."


def _rated_conversations(world, person=None):
    """Two rated answers to one question by a consenting person; a canary in an opted-out person's chat."""
    with schema_context(world.tenant.schema_name):
        person = person or world.legal
        training.tenant_consent_set(tenant=world.tenant, consent=True, actor=world.admin)
        conversation = Conversation.objects.create(user=person, title_encrypted=b"")
        message_add(tenant=world.tenant, conversation=conversation, role="user", content=QUESTION)
        good = _answer(world, conversation, GOOD)
        bad = _answer(world, conversation, BAD, regenerate_of=good)
        Feedback.objects.create(message=good, user=person, rating=1)
        Feedback.objects.create(message=bad, user=person, rating=-1)
        opted_out = Conversation.objects.create(user=world.finance, title_encrypted=b"")
        message_add(tenant=world.tenant, conversation=opted_out, role="user", content=f"What is {CANARY}?")
        _answer(world, opted_out, f"{CANARY} is our secret project.")
        accounts.training_opt_out_set(user=User.objects.get(pk=world.finance.pk), opt_out=True)
        export = training.export_create(tenant=world.tenant, actor=world.admin)
    return export, conversation


def _answer(world, conversation, text, regenerate_of=None):
    return answer_store(
        tenant=world.tenant,
        conversation=conversation,
        content=text,
        status="complete",
        error_code="",
        citations=[],
        trace={},
        context_documents=[],
        regenerated_from=regenerate_of,
    )


def _recipe(export_id) -> dict:
    stage = {"max_steps": 2, "batch_size": 2, "max_length": 96}
    return {
        "name": "economy tone",
        "method": "sft+dpo",
        "data": {"export": str(export_id)},
        "lora": {"rank": 4, "alpha": 8, "targets": ["q_proj", "k_proj", "v_proj"]},
        "sft": {**stage, "learning_rate": 0.02},
        "dpo": {**stage, "max_steps": 1, "learning_rate": 0.001},
    }


def _trained(api, operator, world, export) -> AlignmentRun:
    path = f"/api/v1/operator/tenants/{world.tenant.pk}/alignment-runs/"
    created = api("post", path, key=operator.key, data={"recipe": _recipe(export.public_id)})
    assert created.status_code == 201, created.content
    run_id = created.json()["id"]
    assert created.json()["status"] == "queued"
    # The worker's task, run here: the same TenantTask entry point a worker calls.
    assert align_run.apply(kwargs={"run_id": run_id, "tenant_schema": world.tenant.schema_name}).get() == "succeeded"
    followed = api("get", f"{path}{run_id}/", key=operator.key).json()
    assert followed["status"] == "succeeded", followed["error"]
    assert followed["progress"]["stage"] == "dpo" and followed["progress"]["step"] == 1
    with schema_context(world.tenant.schema_name):
        return AlignmentRun.objects.get(public_id=run_id)


def _gate_runs(*variants):
    """Offline safety runs for the gate. The classifier and policy decide refusals, and an adapter changes
    neither, so one measurement stands for both variants; injection cases need the model and are given."""
    harmful, benign = sets_load(
        DATASETS, [DATASETS / "harmful_heldout.jsonl"], [DATASETS / "benign_sensitive.jsonl"], True
    )
    halves = ({n: rows[::4] for n, rows in harmful.items()}, {n: rows[::4] for n, rows in benign.items()})
    refusals, over = variant_rates(DEFAULT, *halves)
    injection = type("Injection", (), {"cases": 40, "followed_defended": 1, "followed_baseline": 9})
    for variant in variants:
        run_record(
            kind="safety",
            dataset="held-out sets",
            variant=variant,
            started_at=None,
            metrics=measured(refusals, over, injection),
        )


def _bodies_sent(monkeypatch) -> list[dict]:
    sent = []
    post_json = client.transport.post_json

    def recording(path, body, **kwargs):
        sent.append(body)
        return post_json(path, body, **kwargs)

    monkeypatch.setattr(client.transport, "post_json", recording)
    return sent


def test_consented_feedback_becomes_an_adapter_served_in_an_experiment_and_only_to_its_tenant(
    api, operator, tenant_a, tenant_b, settings, monkeypatch
):
    export, _conversation = _rated_conversations(tenant_a)
    with schema_context("tenant_a"):
        data = training_data(tenant=tenant_a.tenant, recipe=recipe_from(_recipe(export.public_id)))
    rows = json.dumps([data.sft, data.preferences])
    assert CANARY not in rows and GOOD in rows  # the opted-out person's words never reach training
    assert data.preferences == [
        {
            "prompt": [{"role": "user", "content": QUESTION}],
            "chosen": [{"role": "assistant", "content": GOOD}],
            "rejected": [{"role": "assistant", "content": BAD}],
        }
    ]
    refused = api(
        "post",
        f"/api/v1/operator/tenants/{tenant_b.tenant.pk}/alignment-runs/",
        key=operator.key,
        data={"recipe": _recipe(export.public_id)},
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "training_consent_off"

    run = _trained(api, operator, tenant_a, export)

    with schema_context("tenant_a"):
        adapter = Adapter.objects.get(name=run.adapter_name)
    assert adapter.user_ids == [tenant_a.legal.public_id] and not adapter.public_data_only
    folder = adapters.adapter_folder("tenant_a", adapter.name)
    assert {p.name for p in folder.iterdir()} == {
        "adapter_model.safetensors",
        "adapter_config.json",
        "adapter.gguf",
        "card.json",
    }
    card = json.loads((folder / "card.json").read_text())
    assert card["base"]["sha256"] and card["data"]["export"]["id"] == str(export.public_id)
    assert card["data"]["rows"] == {"sft": 1, "preferences": 1} and card["lineage"]["user_ids"] == 1
    assert EvaluationRun.objects.get(public_id=run.evaluation_run_id).kind == "training"
    listed = api("get", "/api/v1/adapters/", key=tenant_a.admin_key).json()["results"]
    assert [a["name"] for a in listed] == [adapter.name]
    # Tenant B neither sees nor names it; a member who is no admin does not list adapters.
    assert api("get", "/api/v1/adapters/", key=tenant_b.admin_key).json()["results"] == []
    assert api("get", f"/api/v1/adapters/{adapter.public_id}/", key=tenant_b.admin_key).status_code == 404
    assert api("get", "/api/v1/adapters/", key=tenant_a.legal_key).status_code == 403
    assert api("get", "/api/v1/adapters/", host=tenant_a.host).status_code in (401, 403)
    foreign = {"name": "stolen", "settings": {"adapter": adapter.name}}
    taken = api("post", "/api/v1/experiments/", key=tenant_b.admin_key, data={"name": "x", "treatment": foreign})
    assert taken.status_code == 400 and "adapter must be one" in taken.content.decode()

    monkeypatch.setenv("ENCLAVE_FILE_STORE", settings.ENCLAVE_FILE_STORE)  # the engine loads tenants' adapters
    plant(tenant_a, ["Employees may book economy class for flights shorter than six hours."], title="travel")
    treatment = {"name": "economy tone", "settings": {"adapter": adapter.name}}
    with llama_server_process() as (base_url, _process):
        settings.LLM_BASE_URL = base_url
        assert adapter.name in adapters.engine_ids(refresh=True)
        with schema_context("tenant_a"):
            _gate_runs(DEFAULT, variant_from(treatment))
        prompt = [{"role": "user", "content": "Tell me about travel."}]
        sent = _bodies_sent(monkeypatch)
        with schema_context("tenant_a"):
            base = client.chat_complete(prompt, max_tokens=12, temperature=0.0).text
            adapted = client.chat_complete(prompt, max_tokens=12, temperature=0.0, adapter=adapter.name).text
        with schema_context("tenant_b"):
            client.chat_complete(prompt, max_tokens=12, temperature=0.0, adapter=adapter.name)
        assert adapted != base  # the adapter changes the answer where it is applied...
        # ...and only in its tenant. The engine's greedy text is not bit-stable across slots (a base answer
        # drifted after a few tokens on CI), so what is compared for tenant B is the request the engine got.
        engine_id = adapters.engine_ids()[adapter.name]
        assert [body.get("lora") for body in sent] == [None, [{"id": engine_id, "scale": 1.0}], None]
        assert [body["model"] for body in sent] == [settings.LLM_MODEL, adapter.name, settings.LLM_MODEL]

        experiment = api(
            "post", "/api/v1/experiments/", key=tenant_a.admin_key, data={"name": "t", "treatment": treatment}
        )
        assert experiment.status_code == 201, experiment.content
        experiment_id = experiment.json()["id"]
        started = api("post", f"/api/v1/experiments/{experiment_id}/start/", key=tenant_a.admin_key)
        assert started.status_code == 200, started.content
        chat = api("post", "/api/v1/conversations/", key=tenant_a.legal_key, data={"title": "t"}).json()["id"]
        first = api(
            "post",
            f"/api/v1/conversations/{chat}/messages/",
            key=tenant_a.legal_key,
            data={"content": QUESTION, "stream": False},
        ).json()["message"]
        second = api(
            "post", f"/api/v1/messages/{first['id']}/regenerate/", key=tenant_a.legal_key, data={"stream": False}
        )
        assert second.status_code in (200, 201), second.content

    with schema_context("tenant_a"):
        arms = set(Message.objects.filter(experiment__public_id=experiment_id).values_list("arm", flat=True))
        models = set(LlmCall.objects.filter(purpose="chat").values_list("model", flat=True))
        running = Experiment.objects.get(public_id=experiment_id)
        _seed_arms(tenant_a, running, started.json()["min_sample_size"])
    assert arms == {"control", "treatment"}
    assert adapter.name in models and settings.LLM_MODEL in models  # the treatment's calls went with the adapter
    promoted = api("post", f"/api/v1/experiments/{experiment_id}/promote/", key=tenant_a.admin_key)
    assert promoted.status_code == 200, promoted.content
    assert Tenant.objects.get(pk=tenant_a.tenant.pk).answer_variant["settings"] == {"adapter": adapter.name}


def _seed_arms(world, experiment, needed):
    conversation = Conversation.objects.create(user=world.legal, title_encrypted=b"")
    for arm in ("control", "treatment"):
        Message.objects.bulk_create(
            Message(
                conversation=conversation,
                role="assistant",
                content_encrypted=b"",
                status="complete",
                experiment=experiment,
                arm=arm,
            )
            for _ in range(needed + 5)
        )


def test_erasing_a_person_whose_conversation_trained_an_adapter_retires_it(
    api, operator, tenant_a, django_capture_on_commit_callbacks
):
    with schema_context("tenant_a"):
        rita, _ = accounts.user_create(username="rita", password="correct-horse-battery-staple")
    export, _conversation = _rated_conversations(tenant_a, rita)
    run = _trained(api, operator, tenant_a, export)
    treatment = {"name": "economy tone", "settings": {"adapter": run.adapter_name}}
    with schema_context("tenant_a"):
        Tenant.objects.filter(pk=tenant_a.tenant.pk).update(answer_variant=treatment)
        assert variant_stored(treatment).settings.adapter == run.adapter_name
        assert run.adapter_name in client.adapters_known()
    folder = adapters.adapter_folder("tenant_a", run.adapter_name)
    assert (folder / "adapter.gguf").exists()

    with django_capture_on_commit_callbacks(execute=True):
        erased = api("post", f"/api/v1/users/{rita.public_id}/erase/", key=tenant_a.admin_key)

    assert erased.status_code == 200, erased.content
    assert erased.json()["receipt"]["removed"]["adapters_retired"] == [run.adapter_name]
    assert not folder.exists()
    with schema_context("tenant_a"):
        adapter = Adapter.objects.get(name=run.adapter_name)
        assert adapter.status == "retired" and "user erased" in adapter.retired_reason
        assert run.adapter_name not in client.adapters_known()
        assert variant_stored(treatment).settings.adapter is None  # the promoted variant falls back


def test_a_run_whose_export_is_withdrawn_while_it_trains_is_discarded(tenant_a, monkeypatch):
    export, _conversation = _rated_conversations(tenant_a)
    from alignment import services, trainer

    real_train = trainer.train

    def train_then_withdraw(**kwargs):
        metrics = real_train(**kwargs)
        legal = User.objects.get(pk=tenant_a.legal.pk)  # a copy: the session's own object stays as it was
        accounts.training_opt_out_set(user=legal, opt_out=True)  # deletes the export it read
        return metrics

    monkeypatch.setattr(trainer, "train", train_then_withdraw)
    with schema_context("tenant_a"):
        run = services.run_create(
            tenant=tenant_a.tenant, recipe=recipe_from(_recipe(export.public_id) | {"method": "sft"}), requested_by="t"
        )
        run = services.run_execute(tenant=tenant_a.tenant, run=run)
        assert run.status == "discarded" and "erased or withdrawn" in run.error
        assert not Adapter.objects.exists()
        assert not services.run_folder(run).exists()
