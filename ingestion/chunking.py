"""Structure-aware, token-bounded chunking with overlap.

Consecutive elements under the same heading form a section; each section is cut into windows of
at most `max_tokens` tokens of the embedding model's tokenizer, overlapping by `overlap` tokens,
cut at word boundaries. Every chunk keeps its heading path and the page it starts on.
"""

import hashlib
from dataclasses import dataclass

from ingestion.parsers import Element

MAX_TOKENS = 200
OVERLAP_TOKENS = 40


@dataclass(frozen=True)
class ChunkDraft:
    ordinal: int
    text: str
    section: str
    page: int | None
    token_count: int

    @property
    def embedding_input(self) -> str:
        """What gets embedded: the heading path gives a passage its context."""
        return f"{self.section}\n{self.text}" if self.section else self.text

    def content_hash(self, model_name: str) -> str:
        return hashlib.sha256(f"{model_name}\x00{self.embedding_input}".encode()).hexdigest()


@dataclass
class _Section:
    path: str
    parts: list[tuple[int, int | None]]  # (start offset in text, page)
    text: str = ""

    def add(self, element: Element) -> None:
        if self.text:
            self.text += "\n"
        self.parts.append((len(self.text), element.page))
        self.text += element.text.strip()

    def page_at(self, offset: int) -> int | None:
        page = None
        for start, element_page in self.parts:
            if start > offset:
                break
            page = element_page if element_page is not None else page
        return page


def _sections(elements: list[Element]) -> list[_Section]:
    headings: list[str] = []
    sections: list[_Section] = []
    current: _Section | None = None
    for element in elements:
        if element.is_heading and len(element.text) <= 300:
            depth = max(0, element.depth)
            headings = [*headings[:depth], " ".join(element.text.split())]
            current = None
            continue
        path = " > ".join(headings)
        if current is None or current.path != path:
            current = _Section(path=path, parts=[])
            sections.append(current)
        current.add(element)
    if not sections and headings:
        # A document made only of headings (a slide deck of titles): index the headings as text.
        sections.append(_Section(path="", parts=[(0, elements[0].page)], text="\n".join(headings)))
    return sections


def _back_to_space(text: str, position: int, limit: int = 40) -> int:
    """Move a cut back to the nearest whitespace (at most `limit` characters), so words stay whole."""
    if position <= 0 or position >= len(text):
        return position
    cursor = position
    while cursor > 0 and position - cursor < limit and not text[cursor - 1].isspace():
        cursor -= 1
    return cursor if cursor > 0 and text[cursor - 1].isspace() else position


def chunk_elements(
    elements: list[Element], *, tokenizer, max_tokens: int = MAX_TOKENS, overlap: int = OVERLAP_TOKENS
) -> list[ChunkDraft]:
    drafts: list[ChunkDraft] = []
    stride = max_tokens - overlap
    for section in _sections(elements):
        encoded = tokenizer(section.text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        offsets = encoded["offset_mapping"]
        if not offsets:
            continue
        start_token = 0
        while True:
            end_token = min(start_token + max_tokens, len(offsets))
            start_char = _back_to_space(section.text, offsets[start_token][0])
            if end_token == len(offsets):
                end_char = len(section.text)
            else:
                end_char = _back_to_space(section.text, offsets[end_token][0])
            text = section.text[start_char:end_char].strip()
            if text:
                drafts.append(
                    ChunkDraft(
                        ordinal=len(drafts),
                        text=text,
                        section=section.path,
                        page=section.page_at(start_char),
                        token_count=end_token - start_token,
                    )
                )
            if end_token >= len(offsets):
                break
            start_token += stride
    return drafts


def chunk_metadata(document, *, file_kind: str) -> dict:
    """What search filters and shows about a chunk's document (see retrieval.filters)."""
    return {
        "title": document.title,
        "filename": document.filename,
        "kind": file_kind,
        "tags": list(document.tags),
        "uploaded_at": document.created_at.isoformat(),
    }
