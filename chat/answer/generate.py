"""Stage 4: the prompt of numbered evidence, then the model's stream through output moderation and,
for grounded answers, sentence verification. Grounded and ungrounded answers share `Drafting`."""

from collections.abc import Iterator

from django.conf import settings

from chat.answer import prompt
from chat.answer.evidence import by_passage
from chat.answer.record import Answer, Draft, Removed, Turn
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


def grounded_messages(answer: Answer) -> tuple[list[dict], bool]:
    """The prompt, and whether it holds the user's memories (context the stored documents do not show).
    Evidence flagged at ingestion (injected instructions, hidden characters) goes in neutralised."""
    turn = answer.turn
    remembered = []
    if memory.enabled(user=turn.user):
        facts = memory.facts(tenant=turn.tenant, user=turn.user, limit=memory.MAX_FACTS_IN_PROMPT)
        remembered = [text for _fact, text in facts]
    messages = prompt.messages(
        system=prompt.system(remembered, version=turn.variant.settings.prompt_version),
        question=answer.retrieval.standalone_question,
        evidence=prompt.evidence_block(evidence_screened(answer.passages, answer.evidence)),
    )
    return messages, bool(remembered)


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
    standalone = answer.retrieval.standalone_question if answer.retrieval else ""
    return [
        {"role": "system", "content": prompt.UNGROUNDED_SYSTEM},
        *answer.history[-4:],
        {"role": "user", "content": standalone or answer.turn.question},
    ]


def _temperature(turn: Turn, grounded: bool) -> float:
    chosen = turn.variant.settings.temperature
    return chosen if chosen is not None else GROUNDED_TEMPERATURE if grounded else 0.2


class Drafting:
    """The model's stream while it lasts: each piece the guard lets through, and for a grounded answer
    each sentence the verifier lets through, is shown; `finished()` gives the frozen Draft. A model
    failure is kept; what arrived before it is still checked and released."""

    def __init__(self, answer: Answer, messages: list[dict], *, grounded: bool):
        self.turn, self.grounded, self.messages = answer.turn, grounded, messages
        self.guard = moderation.StreamGuard(answer.moderation.policy)
        self.release = SentenceRelease([p.text for p in answer.passages]) if grounded else None
        self.shown = ""
        self.removed: list[Removed] = []
        self.sentence_checks: list[dict] = []
        self.generation = None
        self.error: LlmError | None = None
        self.abandoned = False

    def finished(self, *, stopped_by_user: bool = False) -> Draft:
        return Draft(
            shown=self.shown,
            removed=tuple(self.removed),
            sentence_checks=tuple(self.sentence_checks),
            prompt_messages=tuple(self.messages),
            generation=self.generation,
            guard=self.guard,
            ungrounded=not self.grounded,
            error=self.error,
            stopped_by_user=stopped_by_user,
            abandoned=self.abandoned,
        )

    def _released(self, text: str, final: bool) -> list[str]:
        if self.release is None:
            return [text] if text else []
        checked = self.release.feed(text) + (self.release.flush() if final else [])
        for item in checked:
            self.sentence_checks.append(
                {
                    "sentence": len(self.sentence_checks) + 1,
                    "kept": sorted(item.kept),
                    "dropped": [d["number"] for d in item.dropped],
                    "removed": item.removed is not None,
                }
            )
        self.removed += [c.removed for c in checked if c.removed]
        return [c.text for c in checked if c.text]

    def pieces(self) -> Iterator[str]:
        """Stream the model; yield each piece that may be shown, separated as shown."""
        stream = chat_stream(
            self.messages,
            max_tokens=min(GROUNDED_MAX_TOKENS, settings.ENCLAVE_CHAT_MAX_TOKENS)
            if self.grounded
            else settings.ENCLAVE_CHAT_MAX_TOKENS,
            temperature=_temperature(self.turn, self.grounded),
            base_url=self.turn.variant.settings.base_url,
            adapter=self.turn.variant.settings.adapter,
            purpose="chat",
            user_id=self.turn.user.public_id,
            conversation=str(self.turn.conversation.public_id),
        )
        self.generation = stream.generation
        guard = self.guard
        try:
            try:
                for delta in stream:
                    released = guard.feed(delta)
                    if released:
                        yield from self._shown(self._released(released, False))
                    if guard.stopped:
                        # What the guard passed before the window it stopped is shown if supported.
                        yield from self._shown(self._released("", True))
                        break
                    if self.grounded and not self.shown and len(self.removed) >= ABANDON_AFTER_REMOVED:
                        self.abandoned = True
                        break
                else:
                    yield from self._shown(self._released(guard.flush(), True))
            except LlmError as error:
                self.error = error
                yield from self._shown(self._released(_flushed(guard), True))
        finally:
            stream.close()  # also when the reader went away: the model stops

    def _shown(self, pieces: list[str]) -> Iterator[str]:
        for piece in pieces:
            text = piece if not self.shown or not self.grounded else " " + piece
            self.shown += text
            yield text


def _flushed(guard: moderation.StreamGuard) -> str:
    try:
        return guard.flush()
    except LlmError:
        return ""  # moderation is out of reach too: nothing more is shown
