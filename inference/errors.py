"""What can go wrong talking to a model server, as typed errors the API shows with a clear status."""

from core.api import ServiceError


class LlmError(ServiceError):
    status_code = 502
    code = "llm_error"


class LlmUnavailable(LlmError):
    """Cannot reach the server, or the circuit breaker is open after repeated failures."""

    status_code = 503
    code = "llm_unavailable"


class LlmTimeout(LlmError):
    status_code = 504
    code = "llm_timeout"


class LlmBadResponse(LlmError):
    """The server answered with an error, or with something that is not the protocol."""

    code = "llm_bad_response"


class ContextTooLong(LlmError):
    status_code = 400
    code = "context_too_long"


class LlmRateLimited(LlmError):
    status_code = 429
    code = "rate_limited"
    retry_after: int | None = None  # seconds, sent as Retry-After where it is known
