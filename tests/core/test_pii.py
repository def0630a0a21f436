"""PII redaction: each kind is caught in its usual shapes, and numbers that only look similar are left alone."""

import dataclasses

import pytest

from core.pii import redact, redact_value

POSITIVES = [
    # (text, redacted text, kind)
    ("Write to jane.doe+invoices@mail.corp.example.co.uk today.", "Write to [EMAIL] today.", "email"),
    ("cc: ops-team@example.org.", "cc: [EMAIL].", "email"),
    ("Call +44 20 7946 0958 now", "Call [PHONE] now", "phone"),
    ("Call +1-202-555-0143.", "Call [PHONE].", "phone"),
    ("Berlin office: +49 (0)30 1234567", "Berlin office: [PHONE]", "phone"),
    ("US desk (202) 555-0143", "US desk [PHONE]", "phone"),
    ("US desk 202.555.0143", "US desk [PHONE]", "phone"),
    ("US desk 202-555-0143", "US desk [PHONE]", "phone"),
    ("Toll free 1-800-555-0199", "Toll free [PHONE]", "phone"),
    ("London 020 7946 0958", "London [PHONE]", "phone"),
    ("Mobile 07700 900123", "Mobile [PHONE]", "phone"),
    ("Phone: 555 0143", "Phone: [PHONE]", "phone"),
    ("Tel. no. 5550143", "Tel. no. [PHONE]", "phone"),
    ("Visa 4111 1111 1111 1111 expires", "Visa [CARD] expires", "card"),
    ("Visa 4111-1111-1111-1111 expires", "Visa [CARD] expires", "card"),
    ("Mastercard 5555555555554444.", "Mastercard [CARD].", "card"),
    ("Amex 3782 822463 10005", "Amex [CARD]", "card"),
    ("Pay to GB82 WEST 1234 5698 7654 32 please", "Pay to [IBAN] please", "iban"),
    ("Pay to DE89370400440532013000", "Pay to [IBAN]", "iban"),
    ("Refund BE68 5390 0754 7034 EUR 20", "Refund [IBAN] EUR 20", "iban"),
    ("SSN 123-45-6789 on file", "SSN [SSN] on file", "ssn"),
    ("Ask Mr. Smith first", "Ask Mr. [NAME] first", "name"),
    ("Ask Dr Jane Doe first", "Ask Dr [NAME] first", "name"),
    ("Ask Mrs O'Brien first", "Ask Mrs [NAME] first", "name"),
    ("Ask Prof. Ada Lovelace first", "Ask Prof. [NAME] first", "name"),
    ("Hello, my name is Jane Doe.", "Hello, my name is [NAME].", "name"),
    ("Hi, I'm Jane, the new PM.", "Hi, I'm [NAME], the new PM.", "name"),
    ("Name: Maria Garcia\nRole: analyst", "Name: [NAME]\nRole: analyst", "name"),
    ("See attached.\nRegards, Jane Doe", "See attached.\nRegards, [NAME]", "name"),
    ("Thanks for the help.\n\nBest,\nJohn", "Thanks for the help.\n\nBest,\n[NAME]", "name"),
    ("The report was signed by Sarah Connor yesterday.", "The report was signed by [NAME] yesterday.", "name"),
    ("Forward it to Daniel Smith-Jones.", "Forward it to [NAME].", "name"),
    ("Quote from John F. Kennedy here", "Quote from [NAME] here", "name"),
    ("Read Sarah Connor's report", "Read [NAME]'s report", "name"),
    ("I met Will Smith at the gala", "I met [NAME] at the gala", "name"),
    ("Escalate to Chukwuemeka Obi and Ngozi Adeyemi", "Escalate to [NAME] and [NAME]", "name"),
]


@pytest.mark.parametrize(("text", "expected", "kind"), POSITIVES)
def test_each_kind_is_replaced_by_its_placeholder(text, expected, kind):
    result = redact(text)

    assert result.text == expected
    assert result.counts == {kind: expected.count(f"[{kind.upper()}]")}


NEGATIVES = [
    "The 2019-2020 budget was approved.",
    "Due 2024-05-01, reviewed 01/02/2024 and 05.06.2024.",
    "Requires Python 3.11.2 or Windows 10.0.19045.3693.",
    "pi is 3.14159265 and e is 2.718281828",
    "It costs $1,200,000 (or €1.200.000,00).",
    "Growth was 12.5% against 8%.",
    "Meet at 10:30 or 14:45:00.",
    "See chapter 12.3.4 and section 4.1.",
    "Run `kill -9 1234` then `sleep 3600`.",
    "Card-shaped but not Luhn: 1234 5678 9012 3456 and 4111111111111112.",
    "Timestamp 1714567890123 in ms.",
    "ISBN 978-0-306-40615-7 and ISBN 0-306-40615-2.",
    "Between 100-2000 units in rooms 101 102 103 104.",
    "Order 12345678, invoice INV-2024-000123, ticket #4021.",
    "Host 192.168.100.200 port 8080.",
    "UUID 0b7a4a9c-2f1e-4c1a-9c55-6f4a7c1d2e3f",
    "Mobile: 2024-2025 roadmap.",
    "May 2024 was busy.",
    "Will the policy change?",
    "Will Microsoft ship the update?",
    "Grace is given to late payers; the Grace Period is 30 days.",
    "Mark Complete when done. Bill Payment runs nightly.",
    "I'm Sorry, I am English and I'm Not sure.",
    "Thanks,\nThe Team",
    "Dear Customer, your Annual Report is ready.",
    "Jane said hello.",
    "Name: Jinja2\nVersion: 3.1.6",
    "Min   Max   Mean   SD",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_numbers_and_words_that_only_look_like_pii_are_left_alone(text):
    result = redact(text)

    assert result.text == text
    assert result.counts == {}


def test_several_kinds_in_one_text_are_all_replaced_and_counted():
    text = (
        "Hi, I'm Priya Sharma. Call +44 20 7946 0958 or mail priya@corp.example.com; "
        "card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32, SSN 123-45-6789. "
        "Dr. Chen will review the 2024-05-01 release of v3.11.2.\nRegards, Priya"
    )

    result = redact(text)

    assert result.text == (
        "Hi, I'm [NAME]. Call [PHONE] or mail [EMAIL]; "
        "card [CARD], IBAN [IBAN], SSN [SSN]. "
        "Dr. [NAME] will review the 2024-05-01 release of v3.11.2.\nRegards, [NAME]"
    )
    assert result.counts == {"email": 1, "iban": 1, "card": 1, "ssn": 1, "phone": 1, "name": 3}


def test_cards_are_found_before_phones_so_a_card_is_not_taken_for_a_phone():
    result = redact("Card read over the phone: 3782 822463 10005, then 4111-1111-1111-1111.")

    assert result.text == "Card read over the phone: [CARD], then [CARD]."
    assert result.counts == {"card": 2}


def test_known_names_match_any_case_full_names_first_and_skip_short_parts():
    text = "jane doe and JDOE met Jane; Doe agreed. Li Wu came, Li did not."

    result = redact(text, names=["Jane Doe", "jdoe", "Li Wu"])

    assert result.text == "[NAME] and [NAME] met [NAME]; [NAME] agreed. [NAME] came, Li did not."
    assert result.counts == {"name": 5}


def test_known_names_match_whole_words_only():
    result = redact("Janet and Doette are not Jane Doe.", names=["Jane Doe"])

    assert result.text == "Janet and Doette are not [NAME]."


def test_known_name_parts_that_are_ordinary_words_are_not_redacted_alone():
    result = redact("Will Turner will call; Turner agreed.", names=["Will Turner"])

    assert result.text == "[NAME] will call; [NAME] agreed."
    assert result.counts == {"name": 2}


def test_a_known_first_name_does_not_split_a_longer_detected_name():
    result = redact("Ask Dr Jane Doe, or Jane Doe herself. Jane knows.", names=["Jane"])

    assert result.text == "Ask Dr [NAME], or [NAME] herself. [NAME] knows."
    assert result.counts == {"name": 3}


def test_placeholders_are_not_redacted_again():
    result = redact("Write to jo@example.io", names=["email", "Name"])

    assert result.text == "Write to [EMAIL]"
    assert result.counts == {"email": 1}


def test_text_without_pii_comes_back_unchanged_with_no_counts():
    result = redact("Quarterly numbers are in the shared folder.")

    assert result.text == "Quarterly numbers are in the shared folder."
    assert result.counts == {}


def test_redaction_is_frozen():
    result = redact("mail jo@example.io")

    with pytest.raises(dataclasses.FrozenInstanceError):
        result.text = "mail jo@example.io"


def test_redact_value_walks_nested_structures_and_sums_counts():
    trace = {
        "prompt": "Contact jo@example.io or +1-202-555-0143",
        "messages": [{"role": "user", "content": "I'm Jane Doe"}, {"role": "assistant", "content": "Hi Jane"}],
        "sources": ("Dr Smith wrote it", 3, None, True),
        "jo@example.io": 1.5,
    }

    redacted, counts = redact_value(trace, names=["Jane Doe"])

    assert redacted == {
        "prompt": "Contact [EMAIL] or [PHONE]",
        "messages": [{"role": "user", "content": "I'm [NAME]"}, {"role": "assistant", "content": "Hi [NAME]"}],
        "sources": ("Dr [NAME] wrote it", 3, None, True),
        "jo@example.io": 1.5,
    }
    assert counts == {"email": 1, "phone": 1, "name": 3}
    assert trace["prompt"] == "Contact jo@example.io or +1-202-555-0143"


def test_redact_value_of_a_plain_string_or_scalar():
    assert redact_value("mail jo@example.io") == ("mail [EMAIL]", {"email": 1})
    assert redact_value(42) == (42, {})
