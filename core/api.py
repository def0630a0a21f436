"""Shared DRF pieces: one JSON error shape for every failure, and cursor pagination."""

from django.core.exceptions import ValidationError as ModelValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def error_body(*, code: str, message: str, detail=None) -> dict:
    body = {"error": {"code": code, "message": message}}
    if detail is not None:
        body["error"]["detail"] = detail
    return body


def error_response(*, status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code=code, message=message), status=status)


class ServiceError(Exception):
    """A request a service refuses to carry out; shown to the caller as `status_code` (409 unless set)."""

    status_code = 409
    code = "conflict"

    def __init__(self, message: str = "", *, detail=None):
        super().__init__(message)
        self.detail = detail


def exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        response = Response(error_body(code=exc.code, message=str(exc), detail=exc.detail), status=exc.status_code)
        if getattr(exc, "retry_after", None):
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, ModelValidationError):  # a model's own validation, when a serializer let the value through
        return Response(error_body(code="invalid", message=" ".join(exc.messages)), status=400)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, Http404):
        code, message, detail = "not_found", "Not found.", None
    elif isinstance(exc, exceptions.ValidationError):
        code, message, detail = "invalid", "The request is not valid.", response.data
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        message, detail = str(exc.detail), None
    else:
        code, message, detail = "error", "The request failed.", None
    response.data = error_body(code=code, message=message, detail=detail)
    return response


class CursorPagination(pagination.CursorPagination):
    ordering = "-created_at"
    page_size_query_param = "page_size"
    max_page_size = 200
