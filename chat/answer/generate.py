"""Stage 4: the prompt of numbered evidence, then the model's stream through output moderation and,
for grounded answers, sentence verification. Grounded and ungrounded answers share `shown_pieces`."""

from collections.abc import Callable, Iterator

from django.conf import settings

from chat.answer import prompt
from chat.answer.evidence import by_passage
from chat.answer.record import Answer
from chat.answer.verify import SentenceRelease
from chat.memory import services as memory
from inference.client import chat_stream
from inference.errors import LlmError
from safety import moderation
from safety.injection import REMOVED, flagged_sentences, neutralize

GROUNDED_TEMPERATURE = 0.0  # the evidence is to be copied, not varied
GROUNDED_MAX_TOKENS = 120  # the prompt asks for one or two sentences; a longer draft is the model wandering
# A draft whose first sentences are all removed is abandoned: the evidence answers sooner (decide.py).
ABANDON_AFTER_REMOVED = 2


def grounded_messages(answer: Answer) -> list[dict]:
    """Evidence flagged at ingestion (injected instructions, hidden characters) goes in neutralised."""
    turn = answer.turn
    remembered = []
    if memory.enabled(user=turn.user):
        facts = memory.facts(tenant=turn.tenant, user=turn.user, limit=memory.MAX_FACTS_IN_PROMPT)
        remembered = [text for _fact, text in facts]
        answer.context_private = answer.context_private or bool(remembered)
    return prompt.messages(
        system=prompt.system(remembered, version=turn.variant.settings.prompt_version),
        question=answer.standalone_question,
        evidence=prompt.evidence_block(evidence_screened(answer.passages, answer.evidence)),
    )


def evidence_screened(passages: list, evidence: list) -> dict[int, list[str]]:
    """Passage number -> its evidence sentences for the prompt. A passage flagged at ingestion loses each
    sentence that screening removes from the whole passage (the rules', or the detector's, which may need the
    passage around a planted request to see it); its other sentences are neutralised one by one."""
    grouped = {}
    for number, items in by_passage(evidence).items():
        passage = passages[number - 1]
        grouped[number] = [e.sentence for e in items]
        if passage.safety_flags:
            removed = flagged_sentences(passage.text)
            grouped[number] = [REMOVED if _overlaps(s, removed) else neutralize(s) for s in grouped[number]]
    return grouped


def _overlaps(sentence: str, removed: list[str]) -> bool:
    """Whether an evidence sentence is, holds or lies inside a sentence screening removed from its passage (the
    two sentence splitters need not agree)."""
    sentence = sentence.strip()
    return bool(sentence) and any(r.strip() and (r.strip() in sentence or sentence in r) for r in removed)


def ungrounded_messages(answer: Answer) -> list[dict]:
    return [
        {"role": "system", "content": prompt.UNGROUNDED_SYSTEM},
        *answer.history[-4:],
        {"role": "user", "content": answer.standalone_question or answer.turn.question},
    ]


def verified_release(answer: Answer) -> Callable[[str, bool], list[str]]:
    """Guard-released text -> the sentences that may be shown; removed ones are recorded on the answer."""
    release = SentenceRelease([p.text for p in answer.passages])

    def shown(text: str, final: bool) -> list[str]:
        checked = release.feed(text) + (release.flush() if final else [])
        for item in checked:
            answer.sentence_checks.append(
                {
                    "sentence": len(answer.sentence_checks) + 1,
                    "kept": sorted(item.kept),
                    "dropped": [d["number"] for d in item.dropped],
                    "removed": item.removed is not None,
                }
            )
        answer.removed += [c.removed for c in checked if c.removed]
        return [c.text for c in checked if c.text]

    return shown


def as_is(text: str, final: bool) -> list[str]:
    return [text] if text else []


def _temperature(answer: Answer, grounded: bool) -> float:
    chosen = answer.turn.variant.settings.temperature
    return chosen if chosen is not None else GROUNDED_TEMPERATURE if grounded else 0.2


def shown_pieces(answer: Answer, messages: list[dict], release: Callable[[str, bool], list[str]]) -> Iterator[str]:
    """Stream the model; yield each piece the guard and `release` let through, separated as shown.
    A model failure is kept on the answer; what arrived before it is still checked and released."""
    answer.prompt_messages = messages
    answer.guard = guard = moderation.StreamGuard(answer.policy)
    grounded = not answer.ungrounded
    stream = chat_stream(
        messages,
        max_tokens=min(GROUNDED_MAX_TOKENS, settings.ENCLAVE_CHAT_MAX_TOKENS)
        if grounded
        else settings.ENCLAVE_CHAT_MAX_TOKENS,
        temperature=_temperature(answer, grounded),
        base_url=answer.turn.variant.settings.base_url,
        adapter=answer.turn.variant.settings.adapter,
        purpose="chat",
        user_id=answer.turn.user.public_id,
        conversation=str(answer.turn.conversation.public_id),
    )
    answer.generation = stream.generation
    try:
        try:
            for delta in stream:
                released = guard.feed(delta)
                if released:
                    yield from _pieces(answer, release(released, False))
                if guard.stopped:
                    # What the guard passed before the window it stopped is shown if supported.
                    yield from _pieces(answer, release("", True))
                    break
                if grounded and not answer.shown and len(answer.removed) >= ABANDON_AFTER_REMOVED:
                    answer.draft_abandoned = True
                    break
            else:
                yield from _pieces(answer, release(guard.flush(), True))
        except LlmError as error:
            answer.error = error
            yield from _pieces(answer, release(_flushed(guard), True))
    finally:
        stream.close()  # also when the reader went away: the model stops


def _pieces(answer: Answer, pieces: list[str]) -> Iterator[str]:
    for piece in pieces:
        text = piece if not answer.shown or answer.ungrounded else " " + piece
        answer.shown += text
        yield text


def _flushed(guard: moderation.StreamGuard) -> str:
    try:
        return guard.flush()
    except LlmError:
        return ""  # moderation is out of reach too: nothing more is shown
