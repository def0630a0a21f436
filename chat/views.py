from django.contrib.auth.decorators import login_required
from django.http import HttpResponseForbidden
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie


@login_required
@ensure_csrf_cookie
def chat_view(request):
    """The chat page: conversations, streamed answers with clickable citations, stop."""
    if request.tenant is None:
        return HttpResponseForbidden()
    return render(request, "chat/chat.html", {"tenant": request.tenant})
