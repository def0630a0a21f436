"""Tools the assistant can use, chosen by a deterministic router (the bundled 135M model cannot be
trusted with function calling): a calculator (safe arithmetic, no eval), the current date and time,
and knowledge-base search, which is the answer loop's own retrieval with the caller's principals.
At most MAX_TOOL_CALLS run for one answer."""

import ast
import datetime
import operator
import re
from dataclasses import dataclass

MAX_TOOL_CALLS = 3
MAX_EXPRESSION = 200
MAX_EXPONENT = 64
MAX_MAGNITUDE = 1e15

OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
# Runs of expression characters (one character class: linear time on any input); a run is arithmetic when
# it holds a digit, then an operator, then a digit (checked by `_is_arithmetic`, also linear).
EXPRESSION_RUN = re.compile(r"[-+*/%^().\d\s]+")
OPERATOR_SIGNS = frozenset("-+*/%^")
PERCENT_OF = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*%\s*of\s*(\d+(?:\.\d+)?)", re.IGNORECASE)
DATE_TIME = re.compile(
    r"\b(what(?:'s| is) (?:the )?(?:date|time|day)(?: (?:is it )?today)?|today'?s date|current (?:date|time)"
    r"|what day is it|what time is it)\b",
    re.IGNORECASE,
)


class ToolError(ValueError):
    pass


@dataclass
class ToolCall:
    name: str
    input: str
    output: str


def _evaluate(node):
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
        return UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and (abs(right) > MAX_EXPONENT or abs(left) > MAX_MAGNITUDE):
            raise ToolError("the power is too large to compute")
        try:
            value = OPERATORS[type(node.op)](left, right)
        except ZeroDivisionError as exc:
            raise ToolError("division by zero") from exc
        if isinstance(value, complex) or abs(value) > MAX_MAGNITUDE**2:
            raise ToolError("the result is out of range")
        return value
    raise ToolError("only numbers and + - * / // % ** and parentheses are allowed")


def calculate(expression: str) -> str:
    expression = expression.strip().replace("^", "**")
    if not expression or len(expression) > MAX_EXPRESSION:
        raise ToolError(f"expressions are at most {MAX_EXPRESSION} characters")
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise ToolError("that is not an arithmetic expression") from exc
    value = _evaluate(tree)
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def current_time() -> str:
    now = datetime.datetime.now(datetime.UTC)
    return now.strftime("%A %d %B %Y, %H:%M UTC")


CUE_WORDS = frozenset(
    "what whats is s calculate compute how much equals equal please the result of tell me give and solve".split()  # noqa: SIM905
)


def _only_cues(question: str, spans: list[tuple[int, int]]) -> bool:
    """True when nothing but the expressions and a few asking words is left: a pure tool question.
    "Revenue grew in 2019-2020" or "my extension is 555-1234" must go to the documents instead."""
    rest = question
    for start, end in sorted(spans, reverse=True):
        rest = rest[:start] + " " + rest[end:]
    return set(re.findall(r"[a-z_]+", rest.lower())) <= CUE_WORDS


def route(question: str) -> list[ToolCall]:
    """The tool calls a question needs, when it is a pure tool question; [] when it needs documents."""
    if DATE_TIME.search(question) and len(question) < 60:
        return [ToolCall(name="datetime", input="", output=current_time())]
    matches = list(PERCENT_OF.finditer(question)) or [
        m for m in EXPRESSION_RUN.finditer(question) if _is_arithmetic(m.group(0))
    ]
    if not matches or not _only_cues(question, [m.span() for m in matches]):
        return []
    calls = []
    for match in matches[:MAX_TOOL_CALLS]:
        expression = f"{match.group(1)} / 100 * {match.group(2)}" if match.re is PERCENT_OF else match.group(0)
        calls.append(_call("calculator", expression.strip()))
    return calls


def _is_arithmetic(run: str) -> bool:
    """A digit, later an operator, later a digit."""
    wanted = "digit"
    for character in run:
        if wanted == "digit" and character.isdigit():
            wanted = "operator"
        elif wanted == "operator" and character in OPERATOR_SIGNS:
            wanted = "last digit"
        elif wanted == "last digit" and character.isdigit():
            return True
    return False


def _call(name: str, expression: str) -> ToolCall:
    try:
        return ToolCall(name=name, input=expression, output=calculate(expression))
    except ToolError as exc:
        return ToolCall(name=name, input=expression, output=f"cannot compute: {exc}")


def answer_text(calls: list[ToolCall]) -> str:
    lines = []
    for call in calls:
        if call.name == "calculator":
            lines.append(
                f"{call.input} = {call.output}"
                if not call.output.startswith("cannot")
                else f"I {call.output} ({call.input})."
            )
        else:
            lines.append(f"It is {call.output}.")
    return "\n".join(lines)
