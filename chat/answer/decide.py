"""Stage 6: the answer's status, kind, text and note (and the question's status), decided here and nowhere
else."""

from collections.abc import Sequence

from chat.answer import evidence as evidence_stage
from chat.answer import prompt
from chat.answer.evidence import Evidence
from chat.answer.record import Answer, Moderation, Verdict
from chat.answer.support import split_sentences
from chat.answer.verify import sentence_check
from chat.models import Message
from safety import moderation

EXTRACTIVE_SENTENCES = 2  # at most this many quoted evidence sentences in an extractive answer


def extractive_text(evidence: Sequence[Evidence], passages: Sequence[str]) -> str:
    """The strongest evidence sentences, quoted, each with its passage number, checked like any sentence.

    The best one is quoted with the sentence that follows it in its passage: an answer often runs on
    (on covid-qa-dev's even-numbered questions the quote held the gold answer for 48.7% of questions
    against 43.7% without it; 48.5% against 43.9% on the odd ones, docs/benchmarks.md)."""
    second = evidence_stage.scorer_active().second_quote
    strong = [e for i, e in enumerate(evidence) if i == 0 or e.score >= second][:EXTRACTIVE_SENTENCES]
    passages = list(passages)
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


def _continued(item: Evidence, passage: str) -> str:
    """The sentence and the one after it in the passage, when the sentence was kept whole."""
    sentences = split_sentences(passage)
    if item.position + 1 >= len(sentences) or sentences[item.position] != item.sentence:
        return ""
    return f"{item.sentence.rstrip()} {sentences[item.position + 1].rstrip()}"


def extractive_wanted(answer: Answer) -> bool:
    """The draft showed nothing, the model did not fail or get stopped, and the evidence is strong."""
    draft = answer.draft
    return (
        not draft.shown
        and not draft.ungrounded
        and bool(answer.passages)
        and draft.error is None
        and not draft.stopped_by_user
        and not draft.guard_stop
        and evidence_stage.strong(answer.evidence)
    )


def _outcome(answer: Answer) -> tuple[str, str, str]:
    """(status, kind, text before the note) from what the stages returned, most decisive first."""
    S = Message.Status
    moderated, draft, quote = answer.moderation, answer.draft, answer.quote
    shown = draft.shown if draft else ""
    if moderated.error is not None:
        return S.FAILED, "failed", ""
    if moderated.refused:
        return S.REFUSED, "refused", moderated.decision.refusal
    if draft and draft.guard_stop:
        return S.REFUSED, "refused", f"{shown}\n\n{moderation.stopped_notice(draft.guard_stop)}".strip()
    if answer.direct:
        return S.COMPLETE, "direct", answer.direct.text
    if draft and draft.ungrounded:
        complete = draft.generation is not None and draft.generation.complete and not draft.guard.failed
        status = S.UNGROUNDED if complete else S.INCOMPLETE
        if draft.error and not shown:
            status = S.FAILED
        return status, "ungrounded", prompt.UNGROUNDED_LABEL + shown
    if not answer.passages or (answer.grounds and answer.grounds.weak):
        return S.ABSTAINED, "abstained", prompt.ABSTAIN
    if draft and (draft.stopped_by_user or draft.error is not None or draft.guard.failed):
        return (S.INCOMPLETE if shown or draft.stopped_by_user else S.FAILED), "generated", shown
    if shown:
        complete = draft.generation is not None and draft.generation.complete
        return (S.COMPLETE if complete else S.INCOMPLETE), "generated", shown
    if quote:
        return S.COMPLETE, "extractive", quote.text
    return S.ABSTAINED, "abstained", prompt.ABSTAIN


def question_status(moderated: Moderation) -> str:
    """The question is stored as refused when it was, so no later turn carries it in its history."""
    return Message.Status.REFUSED if moderated.refused else Message.Status.COMPLETE


def decide(answer: Answer) -> Verdict:
    """The answer's status, kind, text and note."""
    S = Message.Status
    status, kind, text = _outcome(answer)
    lines = []
    removed = answer.draft.removed if answer.draft else ()
    if removed:
        lines.append(prompt.removed_note(len(removed), [r.reason for r in removed]))
    if kind == "extractive":
        lines.append(prompt.QUOTED_NOTE if answer.quote.first else prompt.EXTRACTIVE_NOTE)
    notes = sorted(set(answer.moderation.trace.get("notes", {}).values()))
    if status in (S.COMPLETE, S.UNGROUNDED) and notes:
        lines += notes
    note = "\n".join(lines)
    return Verdict(status=status, kind=kind, text=f"{text}\n\n{note}".strip() if note else text, note=note)
