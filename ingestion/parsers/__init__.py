"""Parsers turn a file's bytes into a flat list of elements: text with its page and heading level.

One small base class and a registry keyed by file kind (see ingestion.detect).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Element:
    text: str
    is_heading: bool = False
    depth: int = 0
    page: int | None = None


class ParseError(Exception):
    """The file cannot be parsed, permanently; the message is shown to the user."""


class Parser:
    kinds: tuple[str, ...] = ()

    def parse(self, kind: str, data: bytes) -> list[Element]:
        raise NotImplementedError


REGISTRY: dict[str, Parser] = {}


def register(parser: Parser) -> Parser:
    for kind in parser.kinds:
        REGISTRY[kind] = parser
    return parser


def parse(kind: str, data: bytes) -> list[Element]:
    from ingestion.parsers import pdf, unstructured_parser  # noqa: F401  (registers the parsers)

    parser = REGISTRY.get(kind)
    if parser is None:
        raise ParseError(f"no parser for {kind} files")
    return [element for element in parser.parse(kind, data) if element.text.strip()]
