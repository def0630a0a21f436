"""Invisible characters in document text: which ones ordinary text would not contain, and the
sentinels the HTML parser puts around text the source hid from readers."""

import re

# Around text the HTML source hides; added by the HTML parser, removed before anything is stored.
# Plane-16 private-use code points: never produced by text extraction (PDF fonts without a
# Unicode map use the BMP private-use area), and the embedding tokenizer drops them.
HIDDEN_START = "\U0010fffa"
HIDDEN_END = "\U0010fffb"
SENTINELS = HIDDEN_START + HIDDEN_END


def without_sentinels(text: str) -> str:
    return text.replace(HIDDEN_START, "").replace(HIDDEN_END, "")


ALWAYS_HIDDEN = set("\u200b\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\ufff9\ufffa\ufffb")
JOINERS = set("\u200c\u200d")
BIDI = set("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
SOFT_HYPHEN = "\u00ad"
TAG_FIRST, TAG_LAST = 0xE0000, 0xE007F
BLACK_FLAG = "\U0001f3f4"
RTL_LETTERS = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc\U00010800-\U00010fff\U0001e800-\U0001efff]")
# Scripts written without spaces, where a zero-width space marks word breaks (Thai, Lao, Tibetan,
# Myanmar, Khmer, CJK).
NO_SPACE_SCRIPTS = re.compile(r"[\u0e00-\u0fff\u1000-\u109f\u1780-\u17ff\u3000-\u9fff\uac00-\ud7af]")


def _is_variation_selector(char: str) -> bool:
    code = ord(char)
    return 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF


def _is_tag(char: str) -> bool:
    return TAG_FIRST <= ord(char) <= TAG_LAST


def _emoji_flag_tags(text: str) -> set[int]:
    """Positions of tag characters that spell a subdivision flag (black flag + tag letters + cancel tag)."""
    legit: set[int] = set()
    for match in re.finditer(f"{BLACK_FLAG}([\U000e0030-\U000e0039\U000e0061-\U000e007a]{{2,7}}\U000e007f)", text):
        legit.update(range(match.start(1), match.end(1)))
    return legit


def suspicious_invisible(text: str) -> list[int]:
    """Positions of invisible characters that ordinary text would not contain there."""
    positions: list[int] = []
    rtl = None
    flag_tags: set[int] | None = None
    for index, char in enumerate(text):
        if char in ALWAYS_HIDDEN:
            if char == "\ufeff" and index == 0:
                continue
            if char == "\u200b" and _neighbour_matches(text, index, NO_SPACE_SCRIPTS):
                continue
            positions.append(index)
        elif char in JOINERS:
            if not _neighbour_is_complex(text, index):
                positions.append(index)
        elif char in BIDI:
            if rtl is None:
                rtl = bool(RTL_LETTERS.search(text))
            if not rtl:
                positions.append(index)
        elif char == SOFT_HYPHEN:
            if not _soft_hyphen_in_word(text, index):
                positions.append(index)
        elif _is_tag(char):
            if flag_tags is None:
                flag_tags = _emoji_flag_tags(text)
            if index not in flag_tags:
                positions.append(index)
        elif _is_variation_selector(char):
            before = index > 0 and _is_variation_selector(text[index - 1])
            after = index + 1 < len(text) and _is_variation_selector(text[index + 1])
            if before or after:  # one selector picks a glyph; a run of them carries data
                positions.append(index)
    return positions


def _neighbours(text: str, index: int) -> tuple[str, str]:
    return (text[index - 1] if index > 0 else ""), (text[index + 1] if index + 1 < len(text) else "")


def _neighbour_matches(text: str, index: int, pattern: re.Pattern) -> bool:
    return any(char and pattern.match(char) for char in _neighbours(text, index))


def _neighbour_is_complex(text: str, index: int) -> bool:
    """Joiners belong in Arabic, Indic and other joining scripts, and in emoji sequences."""
    for char in _neighbours(text, index):
        if char and not char.isascii() and not char.isspace() and char not in JOINERS | ALWAYS_HIDDEN:
            return True
    return False


def _soft_hyphen_in_word(text: str, index: int) -> bool:
    before, after = _neighbours(text, index)
    if not (before.isalpha() and after.isalpha()):
        return False
    start = index
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == SOFT_HYPHEN):
        start -= 1
    end = index
    while end < len(text) and (text[end].isalpha() or text[end] == SOFT_HYPHEN):
        end += 1
    word = text[start:end]
    hyphens = word.count(SOFT_HYPHEN)
    return hyphens < 3 or 2 * hyphens < len(word) - hyphens  # "i­g­n­o­r­e" is not hyphenation


def strip_invisible(text: str) -> str:
    """The text without hidden-HTML sentinels and without the suspicious invisible characters; the
    legitimate ones (joiners in Persian, a soft hyphen inside a word, bidi marks in Hebrew) stay."""
    text = without_sentinels(text)
    positions = set(suspicious_invisible(text))
    if not positions:
        return text
    return "".join(char for index, char in enumerate(text) if index not in positions)
