"""The safety page's trade-off: what the policy in force refuses, from the harm model's card, and how
tightening a category moves its measured shares into the refused column."""

import pytest
from django_tenants.utils import schema_context

from safety import taxonomy, tradeoff
from safety.classifiers import detector
from safety.policy import Policy

MEASURED = {
    "threshold": 0.61,
    "made": "2026-12-05",
    "head_current": True,
    "held_out": {"harmful": "57.7%", "sensitive": "19.9%", "ordinary": "1.7%"},
    "kinds": {
        "harmful": {"rows": 1000, "shares": {"weapons": 0.5, "specialized_advice": 0.2, "none": 0.3}},
        "sensitive": {"rows": 600, "shares": {"weapons": 0.01, "specialized_advice": 0.1, "none": 0.89}},
        "ordinary": {"rows": 1200, "shares": {"specialized_advice": 0.005, "none": 0.995}},
    },
}


@pytest.fixture
def measured(monkeypatch):
    monkeypatch.setattr(tradeoff, "measured", lambda: MEASURED)


def policy_with(**overrides) -> Policy:
    actions = taxonomy.floor("default") | overrides
    return Policy(version=1, region="default", overrides=overrides, actions=actions)


def test_the_policy_in_force_turns_the_measured_shares_into_refusal_and_over_refusal(measured):
    found = tradeoff.policy_tradeoff(policy_with(specialized_advice="caution"))

    assert found["totals"]["harmful"]["refuse"] == pytest.approx(0.5)
    assert found["totals"]["harmful"]["caution"] == pytest.approx(0.2)
    assert found["totals"]["sensitive"]["refuse"] == pytest.approx(0.01)
    assert found["per_category"]["specialized_advice"] == {"harmful": 0.2, "sensitive": 0.1, "ordinary": 0.005}


def test_tightening_a_category_moves_its_shares_into_the_refused_column(measured):
    before = tradeoff.policy_tradeoff(policy_with(specialized_advice="caution"))["totals"]
    after = tradeoff.policy_tradeoff(policy_with(specialized_advice="refuse"))["totals"]

    assert after["harmful"]["refuse"] - before["harmful"]["refuse"] == pytest.approx(0.2)
    assert after["sensitive"]["refuse"] - before["sensitive"]["refuse"] == pytest.approx(0.1)
    assert after["ordinary"]["refuse"] - before["ordinary"]["refuse"] == pytest.approx(0.005)


def test_the_shipped_card_has_the_measurement_for_every_kind():
    found = tradeoff.measured()

    assert found is not None and set(found["kinds"]) == {"harmful", "sensitive", "ordinary"}
    for kind in found["kinds"].values():
        assert sum(kind["shares"].values()) == pytest.approx(1.0, abs=1e-3)
        assert set(kind["shares"]) <= set(taxonomy.BY_ID) | {"none"}
    assert found["head_current"], "the card's category shares were measured with another category head"


def test_the_harm_models_held_out_means_come_from_its_card_as_percentages():
    card = detector.card("harm")

    held_out = tradeoff.measured()["held_out"]

    assert held_out["harmful"] == f"{100 * card['leave_source_out']['summary']['harmful']['mean_flagged']:.1f}%"
    assert set(held_out) == {"harmful", "sensitive", "ordinary"}


def test_the_injection_detectors_measurement_comes_from_its_card_as_percentages():
    card = detector.card("injection")

    found = tradeoff.injection_measured()

    assert found["test"]["injected"] == f"{100 * card['metrics']['test']['injected']['flagged']:.1f}%"
    assert found["held_out"]["clean"] == f"{100 * card['leave_source_out']['summary']['clean']['mean_flagged']:.1f}%"


@pytest.mark.django_db
def test_the_policy_page_shows_the_trade_off_of_the_policy_in_force(client, tenant_a, measured):
    with schema_context("tenant_a"):
        client.force_login(tenant_a.admin)
    host = {"HTTP_HOST": tenant_a.host}

    before = client.get("/safety/", **host).content.decode()
    client.post("/safety/", {"region": "strict", "note": "regulated sector"}, **host)
    after = client.get("/safety/", **host).content.decode()

    def refused(page: str, label: str) -> str:
        row = page.split('id="policy-tradeoff"')[1].split(label)[1].split("</tr>")[0]
        return row.split("<td>")[2].split("</td>")[0]

    assert refused(before, "Safe but sensitive-sounding") == "1.0%"
    assert refused(after, "Safe but sensitive-sounding") == "11.0%"
    assert refused(after, "Harmful requests") == "70.0%"
    assert f"split, {tradeoff.injection_measured()['test']['injected']} of texts carrying" in after
    assert "the trained detector (ENCLAVE_INJECTION_MODEL) is off" in after
    assert "flagged 57.7% of harmful requests, 19.9% of safe but sensitive-sounding ones" in after
