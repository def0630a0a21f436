"""The extractive answer: the best evidence sentence quoted with the one after it, each quote checked."""

from chat.answer import support
from chat.answer.decide import extractive_text
from chat.answer.evidence import MAX_CHARS, Evidence

FLIGHTS = (
    "Employees may book economy class for flights shorter than six hours. "
    "Longer flights may be booked in business class with a manager's approval. "
    "Rail is preferred under 500 km."
)
HOTELS = "Hotels are reimbursed up to 180 euros a night in capitals. Breakfast is included."


def _evidence(number, position, sentence, score=0.6):
    return Evidence(number=number, sentence=sentence, position=position, score=score, features={})


def _quoted(*evidence):
    return extractive_text(list(evidence), [FLIGHTS, HOTELS])


def test_the_best_sentence_is_quoted_with_the_next_one_and_the_second_separately():
    first = support.split_sentences(FLIGHTS)[0]
    hotels = support.split_sentences(HOTELS)[0]

    text = _quoted(_evidence(1, 0, first), _evidence(2, 0, hotels, score=0.3))

    assert text == (
        "\u201cEmployees may book economy class for flights shorter than six hours. Longer flights may be booked "
        "in business class with a manager's approval.\u201d [1] "
        "\u201cHotels are reimbursed up to 180 euros a night in capitals.\u201d [2]"
    )
    assert support.support(text.split(" [1]")[0], FLIGHTS).ok


def test_a_second_sentence_that_is_the_continuation_is_not_quoted_twice():
    sentences = support.split_sentences(FLIGHTS)

    text = _quoted(_evidence(1, 0, sentences[0]), _evidence(1, 1, sentences[1], score=0.5))

    assert text.count("Longer flights") == 1 and text.count("[1]") == 1


def test_the_last_sentence_of_a_passage_and_a_cut_sentence_are_quoted_alone():
    last = support.split_sentences(FLIGHTS)[2]
    long_sentence = "Per diem rates " + " ".join(f"for city {n} are listed in annex {n}," for n in range(40)) + " end."
    long_passage = f"{long_sentence} Receipts are kept for seven years."
    cut = long_sentence[:MAX_CHARS]

    alone = _quoted(_evidence(1, 2, last))
    not_whole = extractive_text([_evidence(1, 0, cut)], [long_passage])

    assert alone == "\u201cRail is preferred under 500 km.\u201d [1]"
    assert not_whole.startswith("\u201cPer diem rates") and "Receipts" not in not_whole
