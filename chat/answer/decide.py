"""Stage 6: the answer's status, kind, text and note, decided here and nowhere else."""

from chat.answer import evidence as evidence_stage
from chat.answer import prompt
from chat.answer.moderate import refused
from chat.answer.record import Answer
from chat.answer.support import split_sentences
from chat.answer.verify import sentence_check
from chat.models import Message
from safety import moderation

EXTRACTIVE_SENTENCES = 2  # at most this many quoted evidence sentences in an extractive answer


def extractive_text(answer: Answer) -> str:
    """The strongest evidence sentences, quoted, each with its passage number, checked like any sentence.

    The best one is quoted with the sentence that follows it in its passage: an answer often runs on
    (on covid-qa-dev's even-numbered questions the quote held the gold answer for 48.7% of questions
    against 43.7% without it; 48.5% against 43.9% on the odd ones, docs/benchmarks.md)."""
    second = evidence_stage.scorer_active().second_quote
    strong = [e for i, e in enumerate(answer.evidence) if i == 0 or e.score >= second][:EXTRACTIVE_SENTENCES]
    passages = [p.text for p in answer.passages]
    shown, following = [], None
    for index, item in enumerate(strong):
        if (item.number, item.position) == following:
            continue  # already quoted with the sentence before it
        continued = _continued(item, passages[item.number - 1]) if index == 0 else ""
        checked = sentence_check(f"\u201c{continued}\u201d [{item.number}]", passages) if continued else None
        if checked is not None and checked.text:
            following = (item.number, item.position + 1)
        else:  # quoted alone: the last sentence of its passage, cut, or the pair not found
            checked = sentence_check(f"\u201c{item.sentence.rstrip()}\u201d [{item.number}]", passages)
        if checked.text:
            shown.append(checked.text)
    return " ".join(shown)


def _continued(item: evidence_stage.Evidence, passage: str) -> str:
    """The sentence and the one after it in the passage, when the sentence was kept whole."""
    sentences = split_sentences(passage)
    if item.position + 1 >= len(sentences) or sentences[item.position] != item.sentence:
        return ""
    return f"{item.sentence.rstrip()} {sentences[item.position + 1].rstrip()}"


def extractive_wanted(answer: Answer) -> bool:
    """The draft showed nothing, the model did not fail or get stopped, and the evidence is strong."""
    return (
        not answer.shown
        and answer.passages
        and not answer.ungrounded
        and answer.error is None
        and not answer.stopped_by_user
        and not (answer.guard and answer.guard.stopped)
        and evidence_stage.strong(answer.evidence)
    )


def decide(answer: Answer) -> None:
    """Sets status, kind, text and note from what the stages recorded."""
    S = Message.Status
    notes = sorted(set(answer.safety.get("notes", {}).values()))
    guard_stop = answer.guard.stopped if answer.guard else None
    if answer.error is not None and answer.error.code == "moderation_unavailable":
        answer.status, answer.kind, answer.text = S.FAILED, "failed", ""
    elif refused(answer):
        answer.status, answer.kind, answer.text = S.REFUSED, "refused", answer.request_decision.refusal
    elif guard_stop:
        answer.status, answer.kind = S.REFUSED, "refused"
        answer.text = f"{answer.shown}\n\n{moderation.stopped_notice(guard_stop)}".strip()
    elif answer.direct_text:
        answer.status, answer.kind, answer.text = S.COMPLETE, "direct", answer.direct_text
    elif answer.ungrounded:
        complete = answer.generation is not None and answer.generation.complete and not answer.guard.failed
        answer.status = S.UNGROUNDED if complete else S.INCOMPLETE
        if answer.error and not answer.shown:
            answer.status = S.FAILED
        answer.kind, answer.text = "ungrounded", prompt.UNGROUNDED_LABEL + answer.shown
    elif not answer.passages or answer.weak_evidence:
        answer.status, answer.kind, answer.text = S.ABSTAINED, "abstained", prompt.ABSTAIN
    elif answer.stopped_by_user or answer.error is not None or (answer.guard and answer.guard.failed):
        answer.status = S.INCOMPLETE if answer.shown or answer.stopped_by_user else S.FAILED
        answer.kind, answer.text = "generated", answer.shown
    elif answer.shown:
        complete = answer.generation is not None and answer.generation.complete
        answer.status = S.COMPLETE if complete else S.INCOMPLETE
        answer.kind, answer.text = "generated", answer.shown
    elif answer.extractive:
        answer.status, answer.kind, answer.text = S.COMPLETE, "extractive", answer.extractive
    else:
        answer.status, answer.kind, answer.text = S.ABSTAINED, "abstained", prompt.ABSTAIN
    lines = []
    if answer.removed:
        lines.append(prompt.removed_note(len(answer.removed), [r.reason for r in answer.removed]))
    if answer.kind == "extractive":
        lines.append(prompt.QUOTED_NOTE if answer.quoted_first else prompt.EXTRACTIVE_NOTE)
    if answer.status in (S.COMPLETE, S.UNGROUNDED) and notes:
        lines += notes
    answer.note = "\n".join(lines)
    if answer.note:
        answer.text = f"{answer.text}\n\n{answer.note}".strip()
