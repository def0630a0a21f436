"""Evidence candidates: title lines, addresses, bylines and references are never quoted as answers."""

import pytest

from chat.answer import evidence

ARTICLE_HEAD = (
    "Functional Genetic Variants in DC-SIGNR Are Associated with Mother-to-Child Transmission of HIV-1\n\n"
    "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC2752805/\n\n"
    "Boily-Larouche, Genevi\u00e8ve; Iscache, Anne-Laure; Zijenah, Lynn S.; Humphrey, Jean H.; Mouland, Andrew J.\n"
    "2009-10-07\nDOI:10.1371/journal.pone.0007211\nLicense:cc-by\n\n"
    "Abstract: Mother-to-child transmission (MTCT) is the main cause of HIV-1 infection in children worldwide. "
    "Given that the C-type lectin receptor, dendritic cell-specific ICAM-grabbing non-integrin-related (DC-SIGNR) "
    "is known to bind HIV-1, we studied whether its variants affect transmission."
)


def test_only_answer_sentences_of_an_article_head_are_candidates():
    found = [sentence for _n, _p, sentence in evidence.candidates([ARTICLE_HEAD])]

    assert found[0].startswith("Abstract: Mother-to-child transmission")
    assert len(found) == 2
    assert not any("http" in s or "DOI" in s or "License" in s or "Boily-Larouche" in s for s in found)


@pytest.mark.parametrize(
    "line",
    [
        "Functional Genetic Variants in DC-SIGNR Are Associated with Mother-to-Child Transmission of HIV-1",
        "Available at https://example.org/report.pdf.",
        "DOI: 10.1371/journal.pone.0007211.",
        "12. Smith J, Jones K. Influenza vaccines in the elderly. Lancet. 2009;373:1234-40.",
        "[3] Chan JF, et al. (2015) Middle East respiratory syndrome coronavirus. Clin Microbiol Rev.",
        "Wang, Li; Chen, Hui; Zhao, Min; Liu, Yang.",
    ],
)
def test_titles_addresses_references_and_bylines_are_not_answers(line):
    assert not evidence.answer_like(line)


@pytest.mark.parametrize(
    "sentence",
    [
        "Li et al. (2020) estimated the mean incubation period at 5.2 days.",
        "1. In the first phase, every returning traveller was tested twice.",
        "2. At least 14 days of quarantine were required.",
    ],
)
def test_prose_that_cites_a_study_or_is_numbered_is_still_an_answer(sentence):
    assert evidence.answer_like(sentence)


def test_a_long_sentence_the_chunker_cut_may_still_be_an_answer_when_it_ends_the_passage():
    cut = "The incubation period of the virus was estimated at 5.2 days in the first 425 patients in Wuhan and"

    assert evidence.answer_like(cut, last=True)
    assert not evidence.answer_like(cut, last=False)
