"""The support check and sentence release on their own: facts must match, citations must point somewhere."""

import pytest

from chat.answer import support
from chat.answer.verify import SentenceRelease, sentence_check

PASSAGE = (
    "IFITM3 possesses three cysteine residues, C71, C72 and C105, in the first transmembrane (TM1) domain. "
    "S-palmitoylation of these residues is inhibited by 2-bromopalmitate. The protein does not block entry of HIV."
)


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("IFITM3 has three cysteine residues in the first transmembrane domain [1].", ""),
        ("IFITM3 has 3 cysteine residues in the first transmembrane domain.", ""),
        ("2-bromopalmitate inhibits S-palmitoylation of these residues.", ""),
        ("The amino-acid sequence of the first transmembrane domain is 105 [1].", "number 105"),
        ("IFITM3 possesses four cysteine residues in the first transmembrane domain.", "number 4"),
        ("The residue Thr504 of SrcLBP1 inhibits S-palmitoylation of these residues.", "name"),
        ("IFITM3 does not possess cysteine residues in the first transmembrane domain.", "negation"),
        ("The protein blocks entry of HIV.", "negation"),
        ("Cats are great pets.", "too few"),
    ],
)
def test_a_passage_supports_a_sentence_only_with_the_same_numbers_names_and_polarity(sentence, reason):
    found = support.support(sentence, PASSAGE)
    if reason:
        assert not found.ok and reason in found.reason
    else:
        assert found.ok and found.quote in PASSAGE


def test_a_supported_sentence_keeps_its_citation_before_the_full_stop():
    checked = sentence_check("IFITM3 has three cysteine residues in the first transmembrane domain [1].", [PASSAGE])
    assert checked.text == "IFITM3 has three cysteine residues in the first transmembrane domain [1]."
    assert checked.removed is None


def test_a_citation_to_no_passage_is_dropped_and_the_supporting_passage_attached():
    checked = sentence_check("2-bromopalmitate inhibits S-palmitoylation of these residues [27].", ["Cats.", PASSAGE])
    assert checked.text == "2-bromopalmitate inhibits S-palmitoylation of these residues [2]."
    assert checked.dropped == [{"number": 27, "reason": "no such passage"}]


def test_an_unsupported_sentence_is_removed_with_its_reason_and_citations():
    checked = sentence_check("The first transmembrane domain is 105 residues long [1].", [PASSAGE])
    assert checked.text == "" and checked.removed.cited == [1] and "number 105" in checked.removed.reason


def test_sentences_are_released_one_by_one_as_they_complete_including_quoted_ones():
    release = SentenceRelease([PASSAGE])
    first = release.feed("\u201cIFITM3 possesses three cysteine residues, C71, C72 and C105, in the first ")
    second = release.feed("transmembrane (TM1) domain.\u201d [1] Cats are great")
    last = release.flush()
    assert first == []
    quoted = "\u201c" + PASSAGE.split(". ")[0] + "."
    assert [c.text for c in second] == [quoted + "\u201d [1]"]
    assert [c.text for c in last] == [""] and last[0].removed.sentence == "Cats are great"
