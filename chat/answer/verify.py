"""Stage 5: release the draft a sentence at a time, each only when a passage it cites supports it.

A sentence keeps the citations whose passage supports it (support.py); one without any gets the
passage that supports it best, if one does. A sentence no passage supports is removed and counted,
never shown; a citation number that points at no passage is dropped. The passages are the caller's
own search results, so an answer cannot cite what its reader may not read.
"""

import re
from dataclasses import dataclass, field

from chat.answer import support
from chat.answer.record import Removed

# A sentence ends at . ! or ? (with any citation marks after it) before white space, or at a line break.
SENTENCE_END = re.compile(r"[.!?](?:['\")\]\u201d\u2019]*)(?:\s*\[\d{1,3}\])*(?=\s)|\n")


@dataclass
class Checked:
    text: str  # the sentence as shown, its kept citations before its final punctuation ("" when removed)
    kept: dict[int, support.Support] = field(default_factory=dict)
    dropped: list[dict] = field(default_factory=list)
    removed: Removed | None = None


def _with_marks(claim: str, numbers: list[int]) -> str:
    body = claim.rstrip()
    end = body[-1] if body and body[-1] in ".!?" else ""
    return body[: len(body) - len(end)] + "".join(f" [{n}]" for n in numbers) + end


def sentence_check(sentence: str, passages: list[str]) -> Checked:
    claim = support.claim_text(sentence)
    cited = list(dict.fromkeys(int(n) for n in support.CITE.findall(sentence)))
    checked = Checked(text="")
    reasons = []
    for number in cited:
        if not 1 <= number <= len(passages):
            checked.dropped.append({"number": number, "reason": "no such passage"})
            continue
        found = support.support(claim, passages[number - 1])
        if found.ok:
            checked.kept[number] = found
        else:
            checked.dropped.append({"number": number, "reason": found.reason, "support": found.score})
            reasons.append(found.reason)
    if not checked.kept and passages:
        found = [support.support(claim, passage) for passage in passages]
        best = max(range(len(passages)), key=lambda i: found[i].score if found[i].ok else -1.0)
        if found[best].ok:
            checked.kept[best + 1] = found[best]
        elif not reasons:
            reasons.append(found[best].reason)
    if checked.kept:
        checked.text = _with_marks(claim, sorted(checked.kept))
    else:
        checked.removed = Removed(sentence=claim[:500], cited=cited, reason=reasons[0] if reasons else "no passages")
    return checked


class SentenceRelease:
    """Feed it the draft as it streams; it returns the verified sentences, ready to show."""

    def __init__(self, passages: list[str]):
        self.passages = passages
        self.pending = ""
        self.checked: list[Checked] = []

    def feed(self, delta: str) -> list[Checked]:
        self.pending += delta
        done = []
        while (match := SENTENCE_END.search(self.pending)) is not None:
            sentence, self.pending = self.pending[: match.end()], self.pending[match.end() :]
            if sentence.strip():
                done.append(self._check(sentence))
        return done

    def flush(self) -> list[Checked]:
        sentence, self.pending = self.pending, ""
        return [self._check(sentence)] if sentence.strip() else []

    def _check(self, sentence: str) -> Checked:
        checked = sentence_check(sentence, self.passages)
        self.checked.append(checked)
        return checked
