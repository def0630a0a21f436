"""Render the chart's templates without helm, for the tests and for a look at the manifests.

The templates keep to this subset of Go template syntax, and anything else raises TemplateError:

    {{ .Values.a.b }}   {{ .Release.Name }}   {{ .Chart.Name }}   {{ .Chart.Version }}   {{ .Chart.AppVersion }}
    {{ toYaml .Values.a | nindent N }}
    {{ if .Values.a }} ... {{ else }} ... {{ end }}
    and the whitespace trims {{- and -}}

A plain substitution must be a string, a boolean or a number below 1e6 (helm prints a larger number as
1e+06); a missing value is an error, where helm would print nothing.

Usage: python deploy/helm/render.py [CHART_DIR] [RELEASE_NAME] > manifests.yaml
"""

import re
import sys
from pathlib import Path

import yaml

ACTION = re.compile(r"\{\{(-\s)?\s*(.*?)\s*(\s-)?\}\}", re.DOTALL)
PATH = r"\.(?:Values|Release|Chart)(?:\.[A-Za-z_][A-Za-z0-9_]*)+"
SUBSTITUTION = re.compile(rf"^({PATH})$")
TO_YAML = re.compile(rf"^toYaml\s+({PATH})\s*\|\s*nindent\s+(\d+)$")
IF = re.compile(rf"^if\s+({PATH})$")
CHART_FIELDS = {"Name": "name", "Version": "version", "AppVersion": "appVersion"}
GO_EXPONENT_FROM = 1_000_000


class TemplateError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    """("text", ...) and ("action", ...) pieces, with the {{- and -}} trims applied to the text."""
    pieces: list[tuple[str, str]] = []
    position, trim_next = 0, False
    for match in ACTION.finditer(text):
        before = text[position : match.start()]
        if trim_next:
            before = before.lstrip()
        if match.group(1):
            before = before.rstrip()
        pieces.append(("text", before))
        pieces.append(("action", match.group(2)))
        position, trim_next = match.end(), bool(match.group(3))
    rest = text[position:]
    pieces.append(("text", rest.lstrip() if trim_next else rest))
    if "{{" in "".join(value for kind, value in pieces if kind == "text"):
        raise TemplateError("an unclosed or malformed {{ action")
    return pieces


def _parse(pieces: list[tuple[str, str]]) -> list:
    """A tree: strings, ("sub", path), ("yaml", path, indent) and ("if", path, then_nodes, else_nodes)."""
    root: list = []
    stack: list[tuple[list, list | None]] = []  # (the if node, the branch being filled)
    current = root
    for kind, value in pieces:
        if kind == "text":
            current.append(value)
        elif match := SUBSTITUTION.match(value):
            current.append(("sub", match.group(1)))
        elif match := TO_YAML.match(value):
            current.append(("yaml", match.group(1), int(match.group(2))))
        elif match := IF.match(value):
            node = ["if", match.group(1), [], []]
            current.append(node)
            stack.append((node, current))
            current = node[2]
        elif value == "else" and stack and current is stack[-1][0][2]:
            current = stack[-1][0][3]
        elif value == "end" and stack:
            current = stack.pop()[1]
        else:
            raise TemplateError(f"unsupported template action: {{{{ {value} }}}}")
    if stack:
        raise TemplateError("an {{ if }} without its {{ end }}")
    return root


def _lookup(path: str, scope: dict):
    value = scope
    for name in path.lstrip(".").split("."):
        if not isinstance(value, dict) or name not in value:
            raise TemplateError(f"{path}: no such value")
        value = value[name]
    return value


def _scalar(path: str, value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if abs(value) >= GO_EXPONENT_FROM:
            raise TemplateError(f"{path}: helm prints {value} in exponent form; quote it in values.yaml")
        return str(int(value)) if float(value).is_integer() else repr(value)
    if isinstance(value, str):
        return value
    raise TemplateError(f"{path}: a {type(value).__name__} cannot be substituted (use toYaml)")


def _to_yaml_nindent(value, indent: int) -> str:
    text = yaml.safe_dump(value, default_flow_style=False, sort_keys=True).rstrip("\n")
    if text.endswith("\n..."):  # a bare scalar
        text = text[: -len("\n...")]
    pad = " " * indent
    return "\n" + pad + text.replace("\n", "\n" + pad)


def _evaluate(nodes: list, scope: dict) -> str:
    out = []
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif node[0] == "sub":
            out.append(_scalar(node[1], _lookup(node[1], scope)))
        elif node[0] == "yaml":
            out.append(_to_yaml_nindent(_lookup(node[1], scope), node[2]))
        else:
            _, path, then_nodes, else_nodes = node
            out.append(_evaluate(then_nodes if _lookup(path, scope) else else_nodes, scope))
    return "".join(out)


def render_text(text: str, scope: dict) -> str:
    return _evaluate(_parse(_tokens(text)), scope)


def merged(base: dict, overrides: dict) -> dict:
    result = dict(base)
    for key, value in overrides.items():
        both_maps = isinstance(value, dict) and isinstance(result.get(key), dict)
        result[key] = merged(result[key], value) if both_maps else value
    return result


def scope_for(chart_dir: Path, release_name: str, value_overrides: dict | None = None) -> dict:
    chart = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    values = yaml.safe_load((chart_dir / "values.yaml").read_text()) or {}
    return {
        "Values": merged(values, value_overrides or {}),
        "Release": {"Name": release_name},
        "Chart": {field: chart[key] for field, key in CHART_FIELDS.items() if key in chart},
    }


def render_chart(chart_dir: Path, release_name: str, value_overrides: dict | None = None) -> dict[str, str]:
    """templates/<name>.yaml -> its rendered text."""
    scope = scope_for(chart_dir, release_name, value_overrides)
    rendered = {}
    for template in sorted((chart_dir / "templates").glob("*.yaml")):
        try:
            rendered[template.name] = render_text(template.read_text(), scope)
        except TemplateError as error:
            raise TemplateError(f"{template.name}: {error}") from error
    return rendered


def manifests(chart_dir: Path, release_name: str, value_overrides: dict | None = None) -> list[dict]:
    documents = []
    for text in render_chart(chart_dir, release_name, value_overrides).values():
        documents.extend(document for document in yaml.safe_load_all(text) if document)
    return documents


if __name__ == "__main__":
    chart = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "enclave"
    release = sys.argv[2] if len(sys.argv) > 2 else "enclave"
    for name, text in render_chart(chart, release).items():
        print(f"---\n# Source: {chart.name}/templates/{name}\n{text.strip()}")
