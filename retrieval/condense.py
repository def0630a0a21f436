"""Turn a follow-up question into one that search can answer without the conversation.

"How long does it last?" after "What is the incubation period of MERS?" must search for the
incubation period of MERS. The LLM rewrites it when it is reachable and its rewrite passes a sanity
check; otherwise the question gets the key words of the previous question appended. Both the
original and the standalone question are returned, for the caller to store.
"""

import re
from dataclasses import dataclass

from django.conf import settings

from inference.client import chat_complete
from inference.errors import LlmError

HISTORY_TURNS = 6
MAX_KEYWORDS = 12
MAX_REWRITE_CHARS = 400

WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-']*")
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me more
    most my myself no nor not now of off on once only or other our ours ourselves out over own same she
    should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves tell know please explain describe give show list find""".split()  # noqa: SIM905
)
REFERRING = frozenset(
    """it its they them their theirs this that these those he she him his her hers there such same above
    former latter one ones""".split()  # noqa: SIM905
)
CONTINUATIONS = ("and ", "what about", "how about", "also", "but ", "or ", "then ")

CONDENSE_PROMPT = (
    "Rewrite the user's last question so that it can be understood without the conversation. "
    "Replace pronouns with what they refer to. Reply with the rewritten question only."
)


@dataclass(frozen=True)
class CondensedQuery:
    original: str
    standalone: str
    method: str  # unchanged | llm | keywords


def content_words(text: str) -> list[str]:
    return [word for word in WORD.findall(text.lower()) if word not in STOPWORDS and len(word) > 1]


def _needs_context(question: str) -> bool:
    words = WORD.findall(question.lower())
    return (
        any(word in REFERRING for word in words)
        or question.lower().lstrip().startswith(CONTINUATIONS)
        or len(content_words(question)) < 3
    )


def _turns(history: list[dict]) -> list[dict]:
    turns = [
        {"role": turn["role"], "content": turn["content"].strip()[:2000]}
        for turn in history
        if isinstance(turn, dict)
        and turn.get("role") in ("user", "assistant")
        and isinstance(turn.get("content"), str)
        and turn["content"].strip()
    ]
    return turns[-HISTORY_TURNS:]


def _keywords(question: str, turns: list[dict]) -> str:
    asked = set(content_words(question))
    previous = [turn["content"] for turn in reversed(turns) if turn["role"] == "user"][:2]
    keywords = []
    for text in previous:
        for word in content_words(text):
            if word not in asked and word not in keywords:
                keywords.append(word)
    keywords = keywords[:MAX_KEYWORDS]
    return f"{question} ({' '.join(keywords)})" if keywords else question


def _rewrite_plausible(rewrite: str, question: str, turns: list[dict]) -> bool:
    """A small model's rewrite is used only if it keeps the question's words and adds context words."""
    if not rewrite or len(rewrite) > MAX_REWRITE_CHARS or "\n" in rewrite.strip():
        return False
    words = set(content_words(rewrite))
    asked = set(content_words(question))
    context = {word for turn in turns for word in content_words(turn["content"])} - asked
    kept = len(words & asked) >= max(1, len(asked) // 2)
    return kept and bool(words & context)


def _llm_rewrite(question: str, turns: list[dict]) -> str:
    conversation = "\n".join(f"{turn['role']}: {turn['content'][:500]}" for turn in turns)
    messages = [
        {"role": "system", "content": CONDENSE_PROMPT},
        {"role": "user", "content": f"Conversation:\n{conversation}\n\nLast question: {question}"},
    ]
    return chat_complete(messages, max_tokens=64, purpose="condense", read_timeout=15.0).text.strip().strip('"')


def query_condense(question: str, history: list[dict]) -> CondensedQuery:
    question = question.strip()
    turns = _turns(history)
    if not turns or not _needs_context(question):
        return CondensedQuery(original=question, standalone=question, method="unchanged")
    if settings.ENCLAVE_CONDENSE_WITH_LLM:
        try:
            rewrite = _llm_rewrite(question, turns)
        except LlmError:
            rewrite = ""
        if _rewrite_plausible(rewrite, question, turns):
            return CondensedQuery(original=question, standalone=rewrite, method="llm")
    return CondensedQuery(original=question, standalone=_keywords(question, turns), method="keywords")
