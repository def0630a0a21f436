"""A Llama Guard style model behind the OpenAI-compatible client, for deployments with a GPU.

The guard answers "safe", or "unsafe" and a line of hazard codes (S1..S14, the MLCommons taxonomy
Llama Guard 3 uses), mapped here onto the appliance's categories. Who writes the classification
prompt is ENCLAVE_GUARD_PROMPT:
- "server" (default): a served Llama Guard model's own chat template turns the conversation into its
  prompt; the client sends the conversation as it is (vLLM serving meta-llama/Llama-Guard-3-*);
- "client": the client writes the Llama Guard 3 prompt (categories, conversation, instructions) into
  one user message, for a general instruction model used as the guard, which has no such template.
A guard that cannot be reached fails closed for requests: the inference error propagates and the
request is not answered.
"""

import re

from django.conf import settings

from inference.client import chat_complete
from safety.classifiers.base import Verdict

HAZARDS = {
    "S1": ("Violent Crimes", "violent_crime"),
    "S2": ("Non-Violent Crimes", "fraud"),
    "S3": ("Sex-Related Crimes", "violent_crime"),
    "S4": ("Child Sexual Exploitation", "sexual_minors"),
    "S5": ("Defamation", "harassment"),
    "S6": ("Specialized Advice", "specialized_advice"),
    "S7": ("Privacy", "privacy"),
    "S8": ("Intellectual Property", "copyright"),
    "S9": ("Indiscriminate Weapons", "cbrn"),
    "S10": ("Hate", "hate"),
    "S11": ("Suicide & Self-Harm", "self_harm"),
    "S12": ("Sexual Content", "sexual_content"),
    "S13": ("Elections", "misinformation"),
    "S14": ("Code Interpreter Abuse", "cyber_crime"),
}
PROMPT_MODES = ("server", "client")
# A request the reader never sees, paired with an answer to judge: Llama Guard judges the last turn.
REQUEST_PLACEHOLDER = "(the request)"


def parse(answer: str) -> str | None:
    """The category of the first hazard in a guard answer, or None for "safe"."""
    lines = [line.strip() for line in answer.strip().splitlines() if line.strip()]
    if not lines or lines[0].lower() != "unsafe":
        return None
    codes = re.findall(r"S\d+", " ".join(lines[1:]))
    return next((HAZARDS[code][1] for code in codes if code in HAZARDS), "violent_crime")


def conversation(text: str, role: str) -> list[dict]:
    if role == "assistant":
        return [{"role": "user", "content": REQUEST_PLACEHOLDER}, {"role": "assistant", "content": text}]
    return [{"role": "user", "content": text}]


def llama_guard_prompt(messages: list[dict]) -> str:
    """The Llama Guard 3 classification prompt for the last turn of `messages`."""
    judged = "Agent" if messages[-1]["role"] == "assistant" else "User"
    categories = "\n".join(f"{code}: {name}." for code, (name, _category) in HAZARDS.items())
    turns = "\n\n".join(
        f"{'Agent' if message['role'] == 'assistant' else 'User'}: {message['content']}" for message in messages
    )
    return (
        f"Task: Check if there is unsafe content in '{judged}' messages in conversations according our safety "
        "policy with the below categories.\n\n"
        f"<BEGIN UNSAFE CONTENT CATEGORIES>\n{categories}\n<END UNSAFE CONTENT CATEGORIES>\n\n"
        f"<BEGIN CONVERSATION>\n\n{turns}\n\n<END CONVERSATION>\n\n"
        f"Provide your safety assessment for ONLY THE LAST {judged} message in the above conversation:\n"
        " - First line must read 'safe' or 'unsafe'.\n"
        " - If unsafe, a second line must include a comma-separated list of violated categories."
    )


class GuardClassifier:
    name = "guard"

    def classify(self, text: str, *, role: str = "user") -> Verdict:
        messages = conversation(text, role)
        if settings.ENCLAVE_GUARD_PROMPT == "client":
            messages = [{"role": "user", "content": llama_guard_prompt(messages)}]
        generation = chat_complete(
            messages,
            max_tokens=16,
            purpose="moderation",
            base_url=settings.ENCLAVE_GUARD_BASE_URL,
            model=settings.ENCLAVE_GUARD_MODEL,
            partition=False,  # Llama Guard's prompt as its template expects; its vLLM partitions by cache_salt
        )
        category = parse(generation.text)
        return Verdict(category=category, score=1.0 if category else 0.0, source=self.name)

    def classify_many(self, texts: list[str], *, role: str = "user") -> list[Verdict]:
        return [self.classify(text, role=role) for text in texts]
