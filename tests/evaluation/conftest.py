from tests.chat.conftest import handbook, open_traces  # noqa: F401  (fixtures)
from tests.inference.conftest import fake_llm, fresh_breaker  # noqa: F401  (fixtures)
