"""A Llama Guard style model behind the OpenAI-compatible client, for deployments with a GPU.

The served guard model's chat template turns the conversation into its classification prompt; it
answers "safe", or "unsafe" and a line of hazard codes (S1..S14, MLCommons taxonomy), mapped here
onto the appliance's categories. A guard that cannot be reached fails closed for requests: the
inference error propagates and the request is not answered.
"""

import re

from django.conf import settings

from inference.client import chat_complete
from safety.classifiers.base import Verdict

HAZARDS = {
    "S1": "violent_crime",
    "S2": "fraud",
    "S3": "violent_crime",
    "S4": "sexual_minors",
    "S5": "harassment",
    "S6": "specialized_advice",
    "S7": "privacy",
    "S8": "copyright",
    "S9": "cbrn",
    "S10": "hate",
    "S11": "self_harm",
    "S12": "sexual_content",
    "S13": "misinformation",
    "S14": "cyber_crime",
}


def parse(answer: str) -> str | None:
    """The category of the first hazard in a guard answer, or None for "safe"."""
    lines = [line.strip() for line in answer.strip().splitlines() if line.strip()]
    if not lines or lines[0].lower() != "unsafe":
        return None
    codes = re.findall(r"S\d+", " ".join(lines[1:]))
    return next((HAZARDS[code] for code in codes if code in HAZARDS), "violent_crime")


class GuardClassifier:
    name = "guard"

    def classify(self, text: str, *, role: str = "user") -> Verdict:
        if role == "assistant":
            messages = [{"role": "user", "content": "(the request)"}, {"role": "assistant", "content": text}]
        else:
            messages = [{"role": "user", "content": text}]
        generation = chat_complete(
            messages,
            max_tokens=16,
            purpose="moderation",
            base_url=settings.ENCLAVE_GUARD_BASE_URL,
            model=settings.ENCLAVE_GUARD_MODEL,
        )
        category = parse(generation.text)
        return Verdict(category=category, score=1.0 if category else 0.0, source=self.name)

    def classify_many(self, texts: list[str], *, role: str = "user") -> list[Verdict]:
        return [self.classify(text, role=role) for text in texts]
