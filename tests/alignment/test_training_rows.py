"""What the SFT trainer is given: each answer as a completion of the conversation before it."""

from alignment.trainer import completions


def test_each_assistant_turn_becomes_a_completion_of_what_came_before():
    messages = [
        {"role": "system", "content": "Answer from the evidence."},
        {"role": "user", "content": "Q1"},
        {"role": "assistant", "content": "A1 [1]."},
        {"role": "user", "content": "Q2"},
        {"role": "assistant", "content": "A2 [2]."},
    ]
    rows = completions([{"messages": messages}])
    assert rows == [
        {"prompt": messages[:2], "completion": [messages[2]]},
        {"prompt": messages[:4], "completion": [messages[4]]},
    ]
