"""The benign prose of the answer head: how it is drawn, and the committed windows."""

import json

from safety import exemplars
from safety.training import prose


def _row(title: str, paragraph: str, domain: str = "wikipedia") -> dict:
    return {"title": title, "context": paragraph, "domain": domain, "source": "owner/repo@abcdef0"}


SENTENCES = "The first sentence has enough words to count here. The second one follows it with more words. A third."


def test_life_science_articles_come_first_one_window_per_paragraph_and_other_domains_never():
    rows = [
        _row("Opera", "Opera house " + SENTENCES),
        _row("Immune system", "Immune cells " + SENTENCES),
        _row("Immune system", "Immune cells " + SENTENCES),  # a second question on the same paragraph
        _row("", "A tweet " + SENTENCES, domain="social-media"),
    ]

    drawn = prose.windows_draw(rows, count=2)

    assert [row["title"] for row in drawn] == ["Immune system", "Opera"]
    assert all(len(row["text"]) <= prose.WINDOW_CHARACTERS and row["source"] for row in drawn)
    assert prose.windows_draw(rows, count=2) == drawn


def test_the_committed_windows_are_benign_prose_grouped_by_article():
    with open(prose.DATA, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    windows = prose.windows()

    assert len(rows) == len(windows) == prose.COUNT
    assert all(len(row["text"]) <= prose.WINDOW_CHARACTERS and len(row["text"].split()) >= 8 for row in rows)
    assert {w.label for w in windows} == {exemplars.BENIGN} and {w.kind for w in windows} == {exemplars.PROSE_KIND}
    assert all(w.group.startswith("prose:") for w in windows)
