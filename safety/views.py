from django.contrib.auth.decorators import login_required
from django.http import HttpResponseForbidden
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from safety import policy, taxonomy, tradeoff


@login_required
@require_http_methods(["GET", "POST"])
def policy_page(request):
    """The tenant admin's safety policy: a region profile and per-category actions, never below the floor."""
    if request.tenant is None or not request.user.is_tenant_admin:
        return HttpResponseForbidden()
    error = None
    if request.method == "POST":
        region = request.POST.get("region", "default")
        overrides = {c.id: request.POST[c.id] for c in taxonomy.CATEGORIES if request.POST.get(c.id)}
        try:
            policy.policy_update(
                region=region, overrides=overrides, note=request.POST.get("note", "")[:300], actor=request.user
            )
            return redirect("safety-policy-page")
        except policy.PolicyError as exc:
            error = {"message": str(exc), "detail": exc.detail}
    current = policy.policy_current()
    floor = taxonomy.floor(current.region)
    measured = tradeoff.as_percentages(tradeoff.policy_tradeoff(current))
    rows = [
        {
            "category": category,
            "action": current.actions[category.id],
            "choices": [a for a in taxonomy.ACTIONS if taxonomy.stricter(a, floor[category.id]) == a],
            "measured": measured["per_category"][category.id] if measured else None,
        }
        for category in taxonomy.CATEGORIES
    ]
    context = {
        "tenant": request.tenant,
        "policy": current,
        "injection": tradeoff.injection_measured(),
        "rows": rows,
        "regions": list(taxonomy.REGION_PROFILES),
        "versions": policy.policy_versions(limit=10),
        "measured": measured,
        "error": error,
    }
    return render(request, "safety/policy.html", context)
