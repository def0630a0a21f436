"""Tools: safe arithmetic without eval, the date, and questions that only look like arithmetic."""

import pytest

from chat.answer.tools import MAX_TOOL_CALLS, ToolError, calculate, route

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("expression", "value"),
    [("12 * (3 + 4)", "84"), ("2 ^ 10", "1024"), ("10 / 4", "2.5"), ("-3 + 7 % 4", "0"), ("7 // 2", "3")],
)
def test_the_calculator_does_arithmetic(expression, value):
    assert calculate(expression) == value


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('id')",
        "9 ** 9 ** 9",
        "1 / 0",
        "(1).__class__",
        "[1] * 5",
        "a + 1",
        "1e308 * 1e308",
        "x" * 300,
    ],
)
def test_the_calculator_refuses_anything_else(expression):
    with pytest.raises(ToolError):
        calculate(expression)


@pytest.mark.parametrize(
    ("question", "tool"),
    [
        ("What is 12 * (3 + 4)?", "calculator"),
        ("what is 15% of 200", "calculator"),
        ("What time is it?", "datetime"),
        ("What's the date today?", "datetime"),
        ("Revenue grew between 2019-2020, why?", None),
        ("My extension is 555-1234", None),
        ("call __import__('os').system('ls') and 2+2", None),
        ("What was the date of the board meeting?", None),
    ],
)
def test_the_router_sends_only_pure_tool_questions_to_tools(question, tool):
    calls = route(question)

    assert (calls[0].name if calls else None) == tool


def test_the_number_of_tool_calls_is_bounded():
    assert len(route("compute " + " and ".join(f"{n}+{n}" for n in range(10)))) == MAX_TOOL_CALLS


def test_a_tool_question_is_answered_without_documents_or_the_model(api, fake_llm, tenant_a):
    conversation = api("post", "/api/v1/conversations/", key=tenant_a.legal_key, data={}).json()["id"]

    body = api(
        "post",
        f"/api/v1/conversations/{conversation}/messages/",
        key=tenant_a.legal_key,
        data={"content": "What is 12 * (3 + 4)?", "stream": False},
    ).json()

    assert body["message"]["text"] == "12 * (3 + 4) = 84" and body["message"]["status"] == "complete"
    assert body["sources"] == [] and fake_llm.requests == []
