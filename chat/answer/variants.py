"""A variant: a named bundle of answer settings the loop reads instead of the appliance's defaults.

A setting left out (None) keeps the default. A variant is identified across runs and tenants by the
fingerprint of its settings, so an offline evaluation of a bundle counts for every experiment using it.
Its safety policy is a candidate policy version: evaluated offline as written, and in live traffic
never looser than the appliance's floor (safety.policy clamps it)."""

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field

from django.conf import settings

from chat.answer import prompt
from core.api import ServiceError
from inference.client import adapters_known, adapters_served
from retrieval import rerank
from safety import taxonomy

logger = logging.getLogger(__name__)
FIELDS = (
    "prompt_version",
    "base_url",
    "adapter",
    "temperature",
    "retrieval_pool",
    "reranker",
    "evidence_count",
    "safety_policy",
)


class VariantError(ServiceError):
    status_code = 400
    code = "invalid_variant"


@dataclass(frozen=True)
class AnswerSettings:
    prompt_version: str | None = None
    base_url: str | None = None
    adapter: str | None = None  # a LoRA adapter the model server applies to this variant's answers
    temperature: float | None = None
    retrieval_pool: int | None = None
    reranker: str | None = None
    evidence_count: int | None = None
    safety_policy: dict | None = field(default=None, hash=False)  # {"region": ..., "overrides": {category: action}}

    def given(self) -> dict:
        return {name: value for name, value in asdict(self).items() if value is not None}

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.given(), sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Variant:
    name: str
    settings: AnswerSettings = AnswerSettings()

    def as_dict(self) -> dict:
        return {"name": self.name, "settings": self.settings.given()}


DEFAULT = Variant("default")


def _check(given: dict) -> list[str]:
    problems = [f"unknown setting {name!r}" for name in given if name not in FIELDS]
    if given.get("prompt_version") not in (None, *prompt.VERSIONS):
        problems.append(f"prompt_version must be one of {', '.join(prompt.VERSIONS)}")
    if given.get("reranker") not in (None, *rerank.known()):
        problems.append(f"reranker must be one of {', '.join(rerank.known())}")
    temperature = given.get("temperature")
    if temperature is not None and not (isinstance(temperature, int | float) and 0 <= temperature <= 2):
        problems.append("temperature must be a number from 0 to 2")
    for name, most in (("retrieval_pool", 200), ("evidence_count", 12)):
        value = given.get(name)
        if value is not None and not (isinstance(value, int) and 1 <= value <= most):
            problems.append(f"{name} must be a whole number from 1 to {most}")
    base_url = given.get("base_url")
    allowed = [settings.LLM_BASE_URL, *settings.ENCLAVE_VARIANT_BASE_URLS]
    if base_url is not None and base_url not in allowed:
        problems.append(f"base_url must be a model server the operator listed: {', '.join(allowed)}")
    adapter = given.get("adapter")
    if adapter is not None and adapter not in adapters_served():
        problems.append(f"adapter must be one the model server serves: {', '.join(adapters_served()) or 'none is'}")
    policy = given.get("safety_policy")
    if policy is not None:
        if not isinstance(policy, dict) or policy.get("region", "default") not in taxonomy.REGION_PROFILES:
            problems.append(f"safety_policy.region must be one of {', '.join(taxonomy.REGION_PROFILES)}")
        else:
            for category, action in (policy.get("overrides") or {}).items():
                if category not in taxonomy.BY_ID or action not in taxonomy.ACTIONS:
                    problems.append(f"safety_policy.overrides: {category}={action} is not a category and action")
    return problems


def variant_stored(data: dict) -> Variant:
    """A variant saved after it was checked (a promoted or running one): loaded without failing the answer.
    A setting this version does not know is left out, a model server the operator has since unlisted is
    replaced by the default one, and an adapter no longer served (retired, unlisted) by the base model."""
    given = {key: value for key, value in (data.get("settings") or {}).items() if key in FIELDS and value is not None}
    if given.get("adapter") not in (None, *adapters_known()):
        logger.warning("variant %r names an adapter no longer served; the base model answers", data.get("name"))
        given.pop("adapter")
    if given.get("base_url") not in (None, settings.LLM_BASE_URL, *settings.ENCLAVE_VARIANT_BASE_URLS):
        logger.warning("variant %r names a model server no longer listed; the default server answers", data.get("name"))
        given.pop("base_url")
    return Variant(name=str(data.get("name") or "unnamed")[:100], settings=AnswerSettings(**given))


def variant_from(data: dict) -> Variant:
    """A variant from {"name": ..., "settings": {...}}, checked; VariantError lists every problem."""
    name = str(data.get("name") or "").strip()
    given = {key: value for key, value in (data.get("settings") or {}).items() if value is not None}
    problems = ([] if name else ["a variant needs a name"]) + _check(given)
    if problems:
        raise VariantError("; ".join(problems), detail=problems)
    return Variant(name=name[:100], settings=AnswerSettings(**given))
