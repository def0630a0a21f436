"""The operator's alignment page: every tenant's runs with their progress, its adapters, and a form to start a
run from a recipe (the same checks and service as the operator API)."""

import tomllib

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseForbidden
from django.shortcuts import render
from django_tenants.utils import schema_context

from alignment import services
from alignment.models import AlignmentRun
from alignment.recipe import RecipeError, recipe_from
from core.pages import console_action, done
from inference.models import Adapter
from tenants import selectors as tenant_selectors
from tenants.accounts.models import User

PAGE = "/alignment/"
EXAMPLE = """name = "support answers"
method = "sft+dpo"
[data]
export = ""   # a training export id the tenant's admin made (Training, in the tenant's console)
[lora]
rank = 8
targets = ["q_proj", "k_proj", "v_proj", "o_proj"]
[sft]
epochs = 1
[dpo]
epochs = 1
"""


def _operator(request) -> bool:
    return request.tenant is None and request.user.role == User.Role.OPERATOR


@login_required
def alignment_page(request):
    if not _operator(request):
        return HttpResponseForbidden()
    tenants = list(tenant_selectors.tenant_list())
    rows = []
    for tenant in tenants:
        with schema_context(tenant.schema_name):
            runs = list(AlignmentRun.objects.all()[:20])
            adapters = list(Adapter.objects.order_by("-created_at")[:20])
        rows.append({"tenant": tenant, "runs": runs, "adapters": adapters})
    return render(request, "console/alignment.html", {"rows": rows, "tenants": tenants, "example": EXAMPLE})


@console_action(may=_operator, back=PAGE)
def alignment_start(request):
    tenant = tenant_selectors.tenant_get(tenant_id=int(request.POST.get("tenant") or 0))
    try:
        recipe = recipe_from(tomllib.loads(request.POST.get("recipe", "")))
    except tomllib.TOMLDecodeError as error:
        raise RecipeError(f"the recipe is not TOML: {error}") from error
    with schema_context(tenant.schema_name):
        run = services.run_create(tenant=tenant, recipe=recipe, requested_by=request.user.username)
        services.run_enqueue(tenant=tenant, run=run)
    return done(request, f"Run {recipe.name} for {tenant.name} is queued; its progress shows below.", PAGE)
