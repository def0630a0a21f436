"""What the shipped classifier refuses under a policy: the harm model's card records, for the test split of
corpora/safety-train, the share of harmful, benign-but-sensitive and ordinary requests the whole classifier
names in each category (safety/training/harm_model.py category_rates); a policy's actions turn those shares
into refusal and over-refusal rates. Measured once, when the model was trained: nothing is scored here."""

from django.conf import settings

from retrieval import encoders
from safety import exemplars, taxonomy
from safety.classifiers import detector
from safety.policy import Policy

KINDS = {"harmful": "Harmful requests", "sensitive": "Safe but sensitive-sounding", "ordinary": "Ordinary requests"}


def measured() -> dict | None:
    """The card's per-category shares, or None when the card has none."""
    card = encoders.card_read(detector.folder_of("harm") / "card.json")
    by_category = card.get("metrics", {}).get("test_by_category")
    if not by_category:
        return None
    return {
        "threshold": card["threshold"],
        "made": card.get("made"),
        "kinds": by_category["kinds"],
        "head_current": by_category["exemplars_sha256"] == exemplars.fingerprint()
        and by_category.get("head_reads") == detector.features_name(card),
        "held_out": held_out_percentages(card),
    }


def held_out_percentages(card: dict) -> dict | None:
    """The card's leave-source-out means (share flagged per kind of text, averaged over held-out sources) as
    percentages, or None when it was not measured."""
    summary = card.get("leave_source_out", {}).get("summary", {})
    return {label: f"{100 * summary[label]['mean_flagged']:.1f}%" for label in summary} or None


def injection_measured() -> dict | None:
    """The injection detector's card, as percentages: injected and clean texts flagged on its test split and,
    when measured, on sources held out of training."""
    card = encoders.card_read(detector.folder_of("injection") / "card.json")
    test = card.get("metrics", {}).get("test")
    if not test:
        return None
    return {
        "enabled": settings.ENCLAVE_INJECTION_MODEL,
        "made": card.get("made"),
        "test": {label: f"{100 * test[label]['flagged']:.1f}%" for label in ("injected", "clean")},
        "held_out": held_out_percentages(card),
    }


def policy_tradeoff(policy: Policy) -> dict | None:
    """Per kind of request: the share refused, cautioned and answered under `policy`; per category: the share
    of each kind named in it (what changing that category's action moves)."""
    found = measured()
    if found is None:
        return None
    totals = {}
    for kind, label in KINDS.items():
        shares = found["kinds"].get(kind, {}).get("shares", {})
        by_action = dict.fromkeys(taxonomy.ACTIONS, 0.0)
        for category, share in shares.items():
            by_action[policy.action(None if category == "none" else category)] += share
        totals[kind] = {"label": label, "rows": found["kinds"].get(kind, {}).get("rows", 0), **by_action}
    per_category = {
        category.id: {kind: found["kinds"].get(kind, {}).get("shares", {}).get(category.id, 0.0) for kind in KINDS}
        for category in taxonomy.CATEGORIES
    }
    return {**found, "totals": totals, "per_category": per_category}


def as_percentages(found: dict | None) -> dict | None:
    """The same, every share written as a percentage with one decimal (for the page)."""
    if found is None:
        return None

    def percent(share: float) -> str:
        return f"{100 * share:.1f}%"

    totals = {
        kind: {**row, **{action: percent(row[action]) for action in taxonomy.ACTIONS}}
        for kind, row in found["totals"].items()
    }
    per_category = {
        c: {kind: percent(share) for kind, share in row.items()} for c, row in found["per_category"].items()
    }
    return {**found, "totals": totals, "per_category": per_category}
