"""What the console pages share: a form post validated by the API's own input serializer, handed to
the same service as the API, and answered with a message and a redirect back (or a page shown once)."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError as ModelValidationError
from django.http import Http404, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework import exceptions

from core.api import ServiceError


def validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def posted(request, *keys: str) -> dict:
    """The named form fields that were filled in (an empty field means "not given", as in the API)."""
    return {key: request.POST[key] for key in keys if request.POST.get(key)}


def _flatten(detail, field: str = "") -> list[str]:
    if isinstance(detail, dict):
        return [
            line for key, value in detail.items() for line in _flatten(value, key if key != "non_field_errors" else "")
        ]
    if isinstance(detail, list):
        return [line for value in detail for line in _flatten(value, field)]
    return [f"{field.replace('_', ' ')}: {detail}" if field else str(detail)]


def failure_text(exc: Exception) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return "; ".join(_flatten(exc.detail))
    if isinstance(exc, ModelValidationError):
        return " ".join(exc.messages)
    if isinstance(exc, Http404):
        return "That no longer exists here."
    return str(exc) or "The action was refused."


REFUSALS = (ServiceError, exceptions.ValidationError, exceptions.PermissionDenied, ModelValidationError, Http404)


def console_action(*, may, back: str, gone: str | None = None):
    """A POST from a console page by a signed-in user `may(request)` allows. A refusal of the service or
    of the input comes back to `back` (formatted with the URL's arguments) as an error message, or to
    `gone` when what the URL names is not found; nothing is half done, as services are atomic."""

    def decorate(view):
        @login_required
        @require_POST
        @wraps(view)
        def run(request, *args, **kwargs):
            if not may(request):
                return HttpResponseForbidden()
            try:
                return view(request, *args, **kwargs)
            except REFUSALS as exc:
                messages.error(request, failure_text(exc))
                target = gone if gone is not None and isinstance(exc, Http404) else back
                return redirect(target.format(**kwargs))

        return run

    return decorate


def done(request, text: str, back: str):
    messages.success(request, text)
    return redirect(back)


def refused(request, text: str, back: str):
    messages.error(request, text)
    return redirect(back)


def shown_once(request, *, title: str, lines: list[tuple[str, str]], note: str, back: str = "/"):
    """A secret or a receipt, on a page of its own: never put in a message cookie or a redirect."""
    context = {"tenant": request.tenant, "title": title, "lines": lines, "note": note, "back": back}
    response = render(request, "console/shown_once.html", context)
    response["Cache-Control"] = "no-store"
    return response


def receipt_lines(receipt: dict, prefix: str = "") -> list[tuple[str, str]]:
    lines = []
    for key, value in receipt.items():
        label = f"{prefix}{key}".replace("_", " ")
        if isinstance(value, dict):
            lines += receipt_lines(value, f"{prefix}{key} ")
        else:
            lines.append((label, ", ".join(map(str, value)) if isinstance(value, list) else str(value)))
    return lines
