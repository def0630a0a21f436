"""Diagnosis puts each planted failure at the stage that lost it, and a real trace's removed sentence too."""

import pytest

from chat.answer.diagnosis import diagnose_with_gold, locate
from evaluation.answers import contains

GOLD = ["42 million euros"]
HOLDS = "Kestrel Labs is acquired for 42 million euros in March."
OTHER = ["The travel policy allows economy class.", "The canteen opens at eight.", "Parking is free on Fridays."]


def _holds(text: str) -> bool:
    return contains(text, GOLD)


@pytest.mark.parametrize(
    ("candidates", "sent", "evidence", "kind"),
    [
        # search never found it
        ([("a", OTHER[0]), ("b", OTHER[1])], ["a", "b"], [{"number": 1, "sentence": OTHER[0]}], "retrieval_miss"),
        # found third, but only two passages reached the prompt
        (
            [("a", OTHER[0]), ("b", OTHER[1]), ("c", HOLDS)],
            ["a", "b"],
            [{"number": 1, "sentence": OTHER[0]}],
            "ranking_loss",
        ),
        # in the prompt as passage [2], but the evidence came from passage [1] only
        (
            [("a", OTHER[0]), ("c", HOLDS)],
            ["a", "c"],
            [{"number": 1, "sentence": OTHER[0]}],
            "evidence_loss",
        ),
        # its sentence was evidence [2]: the model had it and did not use it
        (
            [("a", OTHER[0]), ("c", HOLDS)],
            ["a", "c"],
            [{"number": 1, "sentence": OTHER[0]}, {"number": 2, "sentence": HOLDS}],
            "generation_error",
        ),
    ],
    ids=["retrieval-miss", "ranking-loss", "evidence-loss", "generation-error"],
)
def test_each_planted_failure_is_put_at_the_stage_that_lost_it(candidates, sent, evidence, kind):
    found, detail = locate(_holds, candidates=candidates, sent=sent, evidence=evidence)

    assert found == kind, detail


def test_evidence_too_weak_to_answer_is_an_evidence_loss_and_an_unsearched_answer_is_said_so():
    weak, _ = locate(
        _holds,
        candidates=[("c", HOLDS)],
        sent=["c"],
        evidence=[{"number": 1, "sentence": HOLDS}],
        weak_evidence=True,
    )
    refused = diagnose_with_gold({"kind": "refused"}, shown="I can't help with that.", golds=GOLD, contains=contains)

    assert weak == "evidence_loss" and refused.kind == "not_searched"


def test_an_answer_output_moderation_stopped_after_its_search_is_a_moderation_stop():
    trace = {"kind": "refused", "candidate_ids": ["c"], "passages_sent": ["c"], "safety_stop": {"category": "cbrn"}}

    finding = diagnose_with_gold(trace, shown="[The rest of this answer was withheld.]", golds=GOLD, contains=contains)

    assert (finding.kind, finding.detail) == ("moderation_stop", "output moderation stopped the drafted answer (cbrn)")


def test_a_right_answer_is_ok_whatever_its_trace():
    finding = diagnose_with_gold({}, shown="It costs 42 million euros [1].", golds=GOLD, contains=contains)

    assert finding.kind == "ok"


@pytest.mark.django_db
def test_a_removed_invented_sentence_is_a_retrieval_miss_on_the_trace_page_data(
    api, fake_llm, tenant_a, handbook, open_traces
):
    fake_llm.answer(
        "Flights shorter than six hours are booked in economy class [1]. Pilots are paid 90000 euros a year [1]."
    )
    open_traces(tenant_a)
    conversation = api("post", "/api/v1/conversations/", key=tenant_a.legal_key, data={"title": "t"}).json()["id"]
    answer = api(
        "post",
        f"/api/v1/conversations/{conversation}/messages/",
        key=tenant_a.legal_key,
        data={"content": "Which class may I book for a four hour flight?", "stream": False},
    ).json()["message"]

    trace = api("get", f"/api/v1/messages/{answer['id']}/trace/", key=tenant_a.admin_key).json()

    assert "Pilots are paid" not in answer["text"]  # removed; the note says why
    assert [(d["kind"], d["claim"]) for d in trace["diagnosis"]] == [
        ("retrieval_miss", "Pilots are paid 90000 euros a year.")
    ]
