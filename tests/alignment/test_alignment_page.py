"""The operator's alignment page: runs with their progress per tenant, and a form that starts one."""

import pytest
from django_tenants.utils import schema_context

from alignment.models import AlignmentRun
from chat.training import services as training

pytestmark = pytest.mark.django_db

RECIPE = 'name = "tone"\nmethod = "sft"\n[data]\nexport = "{export}"\n[sft]\nmax_steps = 1\n'


def _export(world):
    with schema_context(world.tenant.schema_name):
        training.tenant_consent_set(tenant=world.tenant, consent=True, actor=world.admin)
        return training.export_create(tenant=world.tenant, actor=world.admin)


def test_an_operator_starts_a_run_from_the_page_and_follows_its_progress(client, operator, tenant_a, tenant_b):
    export = _export(tenant_a)
    client.force_login(operator.user)
    form = {"tenant": tenant_a.tenant.pk, "recipe": RECIPE.format(export=export.public_id)}

    started = client.post("/console/alignment/", form, HTTP_HOST="localhost", follow=True)

    with schema_context("tenant_a"):
        run = AlignmentRun.objects.get()
        AlignmentRun.objects.filter(pk=run.pk).update(progress={"stage": "sft", "step": 3, "steps": 8, "loss": 1.25})
    page = client.get("/alignment/", HTTP_HOST="localhost").content.decode()
    assert "is queued" in started.content.decode()
    assert run.status == "queued" and run.requested_by == operator.user.username
    assert f'data-run="{run.public_id}"' in page and "sft 3/8, loss 1.250" in page
    with schema_context("tenant_b"):
        assert not AlignmentRun.objects.exists()


def test_a_bad_recipe_or_a_tenant_without_consent_is_refused_with_the_reason(client, operator, tenant_a, tenant_b):
    export = _export(tenant_a)
    client.force_login(operator.user)
    broken = client.post(
        "/console/alignment/", {"tenant": tenant_a.tenant.pk, "recipe": "name = "}, HTTP_HOST="localhost", follow=True
    )
    foreign = {"tenant": tenant_b.tenant.pk, "recipe": RECIPE.format(export=export.public_id)}
    refused = client.post("/console/alignment/", foreign, HTTP_HOST="localhost", follow=True)
    assert "the recipe is not TOML" in broken.content.decode()
    assert "consent" in refused.content.decode()
    with schema_context("tenant_b"):
        assert not AlignmentRun.objects.exists()


def test_only_an_operator_sees_the_page(client, tenant_a):
    assert client.get("/alignment/", HTTP_HOST="localhost").status_code == 302  # to the sign-in page
    client.force_login(tenant_a.admin)  # a tenant's admin is no operator: not signed in on the operators' host
    assert client.get("/alignment/", HTTP_HOST="localhost").status_code in (302, 403)
    assert client.post("/console/alignment/", {}, HTTP_HOST="localhost").status_code in (302, 403)
    assert client.get("/alignment/", HTTP_HOST=tenant_a.host).status_code == 404  # not a tenant page
