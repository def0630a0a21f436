from tests.chat.conftest import handbook  # noqa: F401  (fixture)
from tests.inference.conftest import fake_llm, fresh_breaker  # noqa: F401  (fixtures)
