from django.contrib.auth.decorators import login_required
from django.http import HttpResponseForbidden
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from tenants.accounts import selectors as account_selectors


@login_required
@ensure_csrf_cookie
def portal(request):
    """The upload portal: drag and drop, per-file upload progress, then live ingestion state."""
    if request.tenant is None:
        return HttpResponseForbidden()
    return render(
        request, "ingestion/portal.html", {"tenant": request.tenant, "groups": account_selectors.group_list()}
    )
