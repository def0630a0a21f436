"""The experiments page for tenant admins: define a treatment, start it, watch both arms, promote or stop.
Forms validate with the API's serializers and call evaluation/experiments.py, as the API does; a gate refusal
comes back as a message carrying its numbers."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseForbidden
from django.shortcuts import render

from chat.answer import arms, prompt
from chat.models import Experiment
from core.pages import console_action, done, validated
from evaluation import experiment_apis, experiments
from retrieval import rerank
from tenants.accounts.permissions import tenant_admin

PAGE = "/experiments/"
NUMBERS = {"temperature": float, "retrieval_pool": int, "evidence_count": int}


@login_required
def experiments_page(request):
    if not tenant_admin(request):
        return HttpResponseForbidden()
    shown = []
    for experiment in Experiment.objects.order_by("-created_at")[:20]:
        data = experiment_apis.experiment_data(experiment, with_metrics=experiment.status != "draft")
        shown.append(data)
    context = {
        "tenant": request.tenant,
        "experiments": shown,
        "current": arms.tenant_variant(request.tenant).as_dict(),
        "rerankers": rerank.known(),
        "prompts": list(prompt.VERSIONS),
    }
    return render(request, "chat/experiments.html", context)


def _settings(post) -> dict:
    found = {}
    for name, kind in NUMBERS.items():
        if post.get(name):
            try:
                found[name] = kind(post[name])
            except ValueError:
                found[name] = post[name]  # the variant check says what is wrong with it
    for name in ("reranker", "prompt_version"):
        if post.get(name):
            found[name] = post[name]
    return found


def _share(percent: str):
    """A percentage typed on the page as the API's share; anything else goes on for the serializer to refuse."""
    try:
        return float(percent) / 100
    except ValueError:
        return percent


@console_action(may=tenant_admin, back=PAGE)
def experiment_create(request):
    data = validated(
        experiment_apis.ExperimentListApi.InputSerializer,
        {
            "name": request.POST.get("name", ""),
            "treatment": {"name": request.POST.get("treatment_name", ""), "settings": _settings(request.POST)},
            "traffic_share": _share(request.POST.get("traffic_percent") or "50"),
            "margin": _share(request.POST.get("margin_percent") or "2"),
        },
    )
    experiment = experiments.experiment_create(tenant=request.tenant, actor=request.user, **data)
    return done(request, f"{experiment.name} is a draft: start it once both variants have a safety run.", PAGE)


@console_action(may=tenant_admin, back=PAGE)
def experiment_act(request, experiment_id, action):
    if action not in ("start", "promote", "stop"):
        raise Http404
    experiment = experiments.experiment_act(
        tenant=request.tenant,
        experiment=experiment_apis.experiment_get(experiment_id),
        action=action,
        actor=request.user,
    )
    said = {
        "start": f"{experiment.name} is running: {experiment.min_sample_size} answers per arm are needed to promote.",
        "promote": f"{experiment.name}: the treatment is now every answer's settings.",
        "stop": f"{experiment.name} is stopped; answers use the control's settings.",
    }
    return done(request, said[action], PAGE)
