from core.api import error_response


def not_found(request, exception=None):
    return error_response(status=404, code="not_found", message="Not found.")


def server_error(request):
    return error_response(status=500, code="server_error", message="The server failed; the error was logged.")
