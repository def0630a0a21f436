"""Indirect prompt-injection screening of document text (at ingestion, and before text goes into a prompt).

`scan(text)` returns the flags of a piece of text:

- "instruction": a sentence addressed to an AI assistant that tries to change what it does (override
  earlier instructions, take a persona, reveal its prompt, keep secrets from the user, call tools,
  send or fetch things, rewrite or re-language its answer, fake chat-template role markers).
- "hidden:zero_width": invisible format characters where ordinary text has none (zero-width
  characters inside Latin text, tag characters, bidi controls in text without right-to-left script,
  soft hyphens outside words, runs of variation selectors). The legitimate uses are left alone:
  joiners in Arabic, Indic or emoji sequences, bidi marks in Hebrew or Arabic text, soft hyphens
  inside words, tag characters of emoji flags.
- "hidden:html": text that the HTML source hid from readers. The HTML parser
  (ingestion/parsers/unstructured_parser.py) wraps it in the sentinels below, which survive
  partitioning and chunking; `strip_invisible` removes them before anything is stored.

Precision matters more than recall: documents are full of imperatives ("ignore the previous version
of this form", "the system prompts the user", "act as a liaison", "you are now enrolled"). Each
sentence gets points from rules; most rules pair an override or imperative cue with a target that
only an AI has (its instructions, its answer, its system prompt, "as an AI", chat-template tokens),
and a sentence is flagged at 2 points. Single cues that also occur in business text are worth 1.
Detection runs on a normalised copy (NFKC, look-alike Cyrillic and Greek letters folded to Latin,
invisible characters removed or read as spaces, tag-character payloads decoded), so obfuscated
spellings count. Off-topic tasks that are not addressed to anyone ("What is the capital of
Brazil?", "Write a poem about the sea") cannot be told from document text and are not flagged.
"""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

INSTRUCTION = "instruction"
ZERO_WIDTH = "hidden:zero_width"
HIDDEN_HTML = "hidden:html"
FLAGS = (INSTRUCTION, ZERO_WIDTH, HIDDEN_HTML)
REMOVED = "[instruction removed]"
THRESHOLD = 2

# Around text the HTML source hides; added by the HTML parser, removed before anything is stored.
# Plane-16 private-use code points: never produced by text extraction (PDF fonts without a
# Unicode map use the BMP private-use area), and the embedding tokenizer drops them.
HIDDEN_START = "\U0010fffa"
HIDDEN_END = "\U0010fffb"
SENTINELS = HIDDEN_START + HIDDEN_END


def _without_sentinels(text: str) -> str:
    return text.replace(HIDDEN_START, "").replace(HIDDEN_END, "")


# --- invisible characters ---------------------------------------------------------------------------

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


def _suspicious_invisible(text: str) -> list[int]:
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
    text = _without_sentinels(text)
    positions = set(_suspicious_invisible(text))
    if not positions:
        return text
    return "".join(char for index, char in enumerate(text) if index not in positions)


# --- instructions -----------------------------------------------------------------------------------

CONFUSABLES = str.maketrans(
    "аеорсухіѕјԁһӏԛԝӀАВЕКМНОРСТХУІЅЈαεικνορτυχΑΒΕΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxisjdhlqwlABEKMHOPCTXYISJaeikvoptuxABEHIKMNOPTYX",
)
# Curly quotes to straight ones; markdown emphasis and code marks to spaces.
PUNCTUATION = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "*": " ",
        "`": " ",
        "~": " ",
    }
)

# "AI" as a noun, not as a modifier ("AI team", "AI-powered", "AI policy").
AI_MODIFIED = (
    r"team|teams|group|committee|council|lab|labs|division|department|unit|initiative|program|programme|strategy|"
    r"policy|policies|working|research|researchers?|engineers?|engineering|company|companies|startups?|vendors?|"
    r"products?|features?|act|regulation|governance|ethics|safety|adoption|budget|projects?|roadmap|use|literacy|"
    r"training|course|courses|conference|summit|market|industry|experts?|practitioners?|developers?|tools?|platforms?|"
    r"solutions?|services?|capabilities|investments?|news|hype|field|sector|community|skills|specialists?|leaders?|"
    r"enthusiasts?|fans|users|friends|colleagues"
)
AI_BARE = rf"(?:ai(?![\w-])(?!\s+(?:{AI_MODIFIED})\b)|a\.i\.|artificial intelligence(?!\s+(?:{AI_MODIFIED})\b))"
# Terms that only name an AI model or assistant.
AI_ONLY = (
    r"(?:ai\s+(?:assistants?|models?|agents?|systems?|chatbots?|bots?|language models?)|chat\s?bots?|"
    r"(?:large\s+)?language\s+models?|llms?|chatgpt|gpt-?\d[\w.]*|gpt(?![\w-])|copilot)"
)
AI = rf"(?:{AI_ONLY}|{AI_BARE})"
# Also ordinary words for people and statistics, so only in combinations.
AI_LOOSE = rf"(?:{AI}|assistants?|models?|bots?|agents?)"

# "Your output" is common in technical documents, so it is not counted as the assistant's answer.
ANSWER = r"(?:answers?|responses?|reply|replies|message|summary)"
YOUR_ANSWER = (
    rf"your\s+{ANSWER}(?:'s)?(?!\s+(?:time|times|rate|rates|deadline|address|form|box|card|envelope|window|team|plan|"
    r"options?|fields?|templates?|slip|sheet)\b)"
)
CODE_TARGET = (
    r"(?:your\s+(?:code|codebase|code\s+base|solution|implementation|algorithm|elucidation|answer|response|reply)|"
    r"the\s+code\s+you\s+(?:develop|write|produce|generate|create|return))"
)
LANGUAGES = (
    r"(?:french|spanish|german|italian|portuguese|dutch|russian|chinese|mandarin|cantonese|japanese|korean|arabic|"
    r"hindi|turkish|polish|swedish|norwegian|danish|finnish|greek|hebrew|latin|klingon|esperanto|swahili|vietnamese|"
    r"thai|indonesian|ukrainian|czech|romanian|hungarian|pig latin|morse(?:\s+code)?|base64|binary|hexadecimal|hex|"
    r"leetspeak|l33t|emojis?|rot13|another language|a different language|a foreign language)"
)
OVERRIDE = (
    r"(?:ignore|disregard|forget|override|overrule|bypass|discard|abandon|neglect|set aside|throw out|"
    r"pay no (?:attention|heed) to|do not (?:follow|obey|heed)|don't (?:follow|obey|heed)|stop following|"
    r"no longer follow)"
)
POSITION = (
    r"(?:previous|previously given|prior|above|preceding|earlier|foregoing|former|original|initial|old|existing|"
    r"system|default|safety|other|given|current|aforementioned)"
)
INSTRUCTIONS = r"(?:instructions?|prompts?|directions|directives?|commands?|programming|system\s+messages?)"
SOFT_RULES = (
    r"(?:guidelines?|rules?|guidance|constraints?|context|orders?|messages?|text|content|conversation|tasks?|"
    r"requests?|input|policies|policy|restrictions?|limitations?|filters?|training)"
)
# "...all previous instructions regarding the shipment": a person correcting themselves.
BUSINESS_FOLLOWUP = (
    r"(?!\s+(?:regarding|about|concerning|on|for|relating|related|re\b|as to|with respect|from (?:me|us|my|our)|"
    r"(?:i|we) (?:sent|gave|provided|issued|emailed|shared|mentioned)))"
)
MANIPULATION = (
    r"(?:substitut\w*|anagram\w*|misspell\w*|typos?|scrambl\w*|jumbl\w*|rearrang\w*|cipher\w*|encod\w*|encrypt\w*|"
    r"base64|rot13|pig latin|morse|leetspeak|alphanumeric|homophonic|backwards|reverse order|in reverse|spaces|"
    r"vowels|consonants|every (?:second|other|third|fourth|fifth|\w+th) (?:word|letter)|letters? (?:with|into|in)|"
    r"group\w* (?:the )?(?:letters|words|characters)|letters of|"
    r"uppercase|all caps|capital letters only)"
)
STRONG_EDIT = (
    r"(?:modify|alter|augment|enhance|enrich|rewrite|amend|tweak|integrate|incorporate|inject|weave|embed|append|"
    r"prepend|supplement|complement|bolster|spice up|tease|hint|promote|advertise|infuse|interweave|sneak|slip)"
)
WEAK_EDIT = (
    r"(?:include|add|insert|mention|put|place|attach|end|begin|start|conclude|finish|close|sign|suggest|recommend|"
    r"encourage|invite|urge|remind|express|emphasi[sz]e|stress|highlight|tell|say|state|claim|advise|provide|use)"
)
CONTENT = (
    r"(?:\b(?:sentences?|statements?|phrases?|lines?|paragraphs?|tips?|reminders?|recommendations?|reasons?|"
    r"appeals?|links?|urls?|hyperlinks?|images?|pictures?|headlines?|quotes?|jokes?|poems?|slogans?|taglines?|ads?|"
    r"advertisements?|promotions?|disclaimers?|mentions?|words?|emojis?|invitations?|requests? for|plugs?|"
    r"code words?|tags?|markers?|reference codes?|keywords?)\b|"
    r"\"[^\"]{3,}\"|\bhttps?://\S+|\bwww\.\S+|\b[\w-]+\.(?:com|net|org|io|xyz|info|biz)\b|\b[\w.+-]+@[\w-]+\.\w+)"
)
# Any character of the same sentence (a dot inside "example.com" does not end it).
GAP = r"(?:[^.!?\n]|[.!?](?=\S))"
URL = r"(?:https?://\S+|www\.\S+|[\w-]+\.(?:com|net|org|io|xyz|ru|cn|info|biz|co)\b)"
EMAIL_ADDRESS = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
BEHAVE = (
    r"(?:respond|reply|answer|say|tell|output|print|write|ignore|disregard|forget|include|add|insert|append|"
    r"recommend|mention|state|claim|send|forward|email|call|visit|open|refuse|reveal|summari[sz]e|translate|praise)"
)
IMPERATIVE = (
    r"(?:please|kindly|you\b|ignore|disregard|forget|do\b|don't|always|never|include|add|insert|append|tell|say|"
    r"respond|reply|answer|output|print|write|send|forward|email|visit|open|call|use|summari[sz]e|translate|"
    r"recommend|mention|remember|make sure|ensure|stop|from now|instead)"
)
CONCEALED_NOUNS = r"(?:instructions?|prompts?|directives?|commands?|requests?)"


@dataclass(frozen=True)
class Rule:
    name: str
    weight: int
    pattern: re.Pattern


def _rule(name: str, weight: int, pattern: str) -> Rule:
    return Rule(name, weight, re.compile(pattern, re.MULTILINE))


# "Include a link to your portfolio in your reply": a sentence that also speaks of the reader's own
# things is written to a person, so edits of "your reply" count one point less there.
READER_OWNS = re.compile(rf"\byour\s+(?!{ANSWER}\b|(?:previous|prior|system|initial|original|new|real|own)\b)[a-z]+")
ADDRESSEE_SENSITIVE = {"answer_edit", "answer_insert"}


RULES: tuple[Rule, ...] = (
    # -- overriding earlier instructions
    _rule(
        "override_all",
        2,
        rf"\b{OVERRIDE}\s+(?:all|any|every|each)\s+(?:of\s+)?(?:(?:the|your|these|those)\s+)?"
        rf"(?:{POSITION}\s+(?:and\s+)?)*(?:\w+\s+)?{INSTRUCTIONS}\b{BUSINESS_FOLLOWUP}",
    ),
    _rule(
        "override_your",
        2,
        rf"\b{OVERRIDE}\s+(?:all\s+(?:of\s+)?)?your\s+(?:{POSITION}\s+(?:and\s+)?)*(?:\w+\s+)?"
        rf"(?:{INSTRUCTIONS}|{SOFT_RULES})\b",
    ),
    _rule(
        "override_bare",
        2,
        rf"\b{OVERRIDE}\s+(?:{POSITION}\s+(?:and\s+)?)+(?:\w+\s+)?{INSTRUCTIONS}\b{BUSINESS_FOLLOWUP}",
    ),
    _rule(
        "override_above",
        2,
        rf"\b{OVERRIDE}\s+(?:the|these|those)\s+(?:above|foregoing|preceding|aforementioned)\s+"
        rf"(?:\w+\s+)?{INSTRUCTIONS}\b{BUSINESS_FOLLOWUP}",
    ),
    _rule(
        "override_the",
        1,
        rf"\b{OVERRIDE}\s+(?:the|these|those)\s+(?:{POSITION}\s+(?:and\s+)?)+(?:\w+\s+)?"
        rf"(?:{INSTRUCTIONS}|{SOFT_RULES})\b",
    ),
    _rule(
        "override_everything",
        2,
        rf"\b{OVERRIDE}\s+(?:everything|anything|all)\s+(?:that\s+|which\s+)?"
        r"(?:(?:was|is|has been|you were|you've been|you have been|i|we)\s+)?(?:said|written|stated|mentioned|told|"
        r"given|above|before|previously|so far|prior|earlier|up to now|until now)\b"
        r"(?=\s*(?:$|[.,;:!)]|and\b|then\b|this\b|here\b|now\b|instead\b))",
    ),
    _rule(
        "override_translated",
        2,
        r"\b(?:ignorier\w*|vergiss|missachte\w*)\s+(?:alle\s+)?(?:vorherigen|bisherigen|"
        r"obigen|vorigen)\s+(?:anweisungen|instruktionen|befehle)|\b(?:ignore[zr]?|oublie[zr]?)\s+(?:toutes\s+)?"
        r"(?:les\s+)?(?:instructions|consignes)\s+(?:précédentes|ci-dessus|antérieures)|\b(?:ignora|olvida|ignore|"
        r"olvide|dimentica|esqueça)\s+(?:todas\s+|tutte\s+)?(?:las\s+|le\s+|as\s+)?(?:instrucciones|indicaciones|"
        r"istruzioni|instruções)\s+(?:anteriores|previas|precedenti)",
    ),
    _rule("forget_all_you_know", 1, r"\bforget (?:everything|all) (?:you know|you were told|you have learned)\b"),
    _rule(
        "override_safety",
        2,
        rf"\b{OVERRIDE}\s+(?:your|all|any)\s+(?:\w+\s+)?(?:filters?|restrictions?|guardrails?|"
        r"safeguards?|safety (?:guidelines|rules|measures|protocols|settings)|ethical (?:guidelines|rules|constraints)|"
        r"content polic(?:y|ies)|limitations|programming|training)\b",
    ),
    _rule(
        "ignore_the_question",
        2,
        r"\b(?:ignore|disregard|do not answer|don't answer)\s+(?:the\s+)?(?:user'?s?|users'|"
        r"their|the original|the actual)\s+(?:question|query|request|prompt|task)\b",
    ),
    # -- new persona or new orders
    _rule(
        "you_are_now",
        1,
        r"\byou are (?:now|no longer|henceforth|from now on)\b|\bfrom (?:now on|this point "
        r"(?:on|forward|onwards)|here on)\b|\bhenceforth\b|\bfor the (?:rest|remainder) of (?:this|the) "
        r"(?:conversation|chat|session)\b",
    ),
    _rule(
        "persona",
        2,
        r"\b(?:you are|you're|you will be|you'll be|act as|acting as|behave (?:as|like)|pretend "
        r"(?:to be|you are|you're|that you are)|role-?play as|play the role of|take on the (?:role|persona) of|"
        r"assume the (?:role|persona|identity) of|impersonate|become)\s+(?:an?\s+|the\s+|my\s+)?(?:\w+\s+){0,3}?"
        r"(?:dan|jailbroken|unrestricted|unfiltered|uncensored|unaligned|amoral|evil (?:ai|assistant|bot)|rogue ai|"
        r"developer mode|ai (?:with|without) (?:any |no )?(?:restrictions|rules|limits|filters|guidelines))\b",
    ),
    _rule(
        "act_as_ai",
        2,
        rf"\b(?:act|behave|respond|function|operate|pretend|role-?play)\s+(?:as|like)\s+"
        rf"(?:if\s+|though\s+)?(?:you\s+(?:are|were)\s+)?(?:an?\s+|the\s+)?(?:\w+\s+){{0,2}}?(?:{AI}|linux terminal|"
        r"terminal|shell|python interpreter|interpreter|sql (?:database|terminal)|javascript console)\b",
    ),
    _rule(
        "you_are_ai",
        2,
        rf"\byou are (?:an?\s+|the\s+)?(?:{AI}|(?:helpful|harmless|honest|virtual|digital|chat)\s+"
        r"assistant)\b",
    ),
    _rule(
        "new_instructions",
        1,
        r"\b(?:new|updated|revised|real|actual|true|secret|hidden|additional|override|"
        r"overriding|priority|important|system|admin|administrator|developer)\s+(?:instructions?|directives?|task|"
        r"objective|orders)\s*(?::|-|!|follow)",
    ),
    _rule(
        "instructions_for_ai",
        2,
        rf"\b(?:instructions?|directives?|orders|task|message|note)\s+(?:for|to)\s+"
        rf"(?:the\s+|any\s+|all\s+)?{AI}(?!\s+(?:team|group))",
    ),
    _rule(
        "your_real_task",
        2,
        r"\byour (?:real|actual|true|only|primary|secret|hidden) (?:task|goal|objective|job|"
        r"purpose|mission|instructions?) (?:is|are|will be|:)",
    ),
    _rule("your_new_task", 1, r"\byour (?:new|next|updated) (?:task|goal|objective|job|instructions?) (?:is|are|:)"),
    _rule(
        "mode_switch",
        1,
        r"\b(?:developer|dan|god|jailbreak|unrestricted|debug|admin) mode\b|\bjailbr(?:eak|oken)\b|"
        r"\bdo anything now\b",
    ),
    # -- the system prompt
    _rule(
        "reveal_prompt",
        2,
        r"\b(?:reveal|print|show|output|repeat|display|leak|disclose|share|tell me|recite|"
        r"write out|dump|expose|return|spell out|list|what (?:is|are|was|were))\s+(?:me\s+)?(?:all\s+)?(?:of\s+)?"
        r"(?:(?:your|the|its)\s+(?:(?:full|entire|complete|original|initial|hidden|secret|exact|verbatim)\s+)*"
        r"(?:system\s+(?:prompt|message|instructions)|(?:initial|original|hidden|secret|previous)\s+(?:prompt|"
        r"instructions))\b(?!s)|(?:your|its)\s+(?:instructions|prompt)(?:\s+(?:above|verbatim))?\b|(?:the\s+)?"
        r"(?:instructions|prompt)\s+(?:above\s+)?verbatim\b)",
    ),
    _rule(
        "your_prompt",
        1,
        r"\byour (?:system prompt|system message|system instructions|initial instructions|original "
        r"instructions|hidden instructions|programming|content polic(?:y|ies)|guardrails|safety (?:guidelines|rules|"
        r"filters))\b",
    ),
    _rule(
        "new_system_prompt",
        2,
        r"\b(?:new|updated|real|actual|following|true|modified|revised) system "
        r"(?:prompt|instructions?)\b(?!s)",
    ),
    _rule("system_prompt", 1, r"\bsystem prompt\b(?!s)"),
    # -- fake chat-template turns
    _rule(
        "template_token",
        2,
        r"<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|"
        r"end_header_id|begin_of_text)\|>|\[/inst\]|<</?sys>>|</(?:system|assistant|instructions?|user_query)>",
    ),
    _rule("template_header", 2, r"^\s*#{2,6}\s*(?:system|instructions?|assistant|response|human|user)\s*:"),
    _rule(
        "fake_assistant_turn",
        2,
        r"^\s*(?:assistant|ai|chatgpt|gpt(?:-?\d)?|bot|chatbot|model|llm)\s*:\s*"
        r"(?:sure|certainly|of course|okay|ok|understood|absolutely|i (?:will|'ll|am|have|can|cannot|can't|must|"
        r"need|won't)|as (?:an|requested)|here (?:is|are)|my (?:instructions|system prompt))\b",
    ),
    _rule(
        "fake_system_turn",
        2,
        rf"^\s*\[?(?:system|sys)\]?\s*(?:message|"
        rf"note|prompt|instructions?|override|update)?\s*[:\]]\s*(?:ignore|disregard|forget|the (?:{AI_LOOSE})|"
        r"you are (?:now )?(?:an?|the|no longer)|you will now|new (?:instructions|rules)|from now on|override|"
        r"respond|reply|answer only)\b",
    ),
    _rule("override_label", 1, r"\b(?:system|admin|developer|security|priority|emergency)\s+override\b"),
    _rule(
        "as_an_ai",
        2,
        rf"\bas an?\s+(?:{AI_ONLY}|ai(?![\w-])(?!\s+(?:{AI_MODIFIED})\b)|artificial intelligence)"
        rf"(?![\w-])(?!\s+(?:{AI_MODIFIED}|provider|firm|first|enthusiast|consultant)\b)",
    ),
    # -- secrecy
    _rule(
        "secret_instruction",
        2,
        rf"\b(?:do not|don't|never|without)\s+(?:\w+\s+)?(?:mention|mentioning|reveal|"
        r"revealing|disclose|disclosing|acknowledge|acknowledging|reference|referencing|repeat|repeating|quote|"
        r"quoting|talk about|explain|tell (?:anyone|them|the user|the reader) about)\s+(?:this|these|the above|"
        r"the following|any of (?:this|these)|that you (?:received|were given|saw|read|followed|are following))"
        rf"\s*(?:(?:hidden|secret|special|additional|injected|embedded)\s+)?{CONCEALED_NOUNS}\b",
    ),
    _rule(
        "keep_from_user",
        1,
        r"\b(?:do not|don't|never|without)\s+(?:tell(?:ing)?|inform(?:ing)?|alert(?:ing)?|"
        r"notify(?:ing)?|let(?:ting)?|warn(?:ing)?|show(?:ing)?)\s+(?:the user|the reader|the human|users?)\b",
    ),
    _rule(
        "behind_users_back",
        2,
        r"\bwithout (?:the user|the reader|the human) (?:knowing|noticing|being aware|"
        r"realizing|finding out|seeing)\b",
    ),
    _rule(
        "keep_secret",
        2,
        rf"\b(?:keep|hide)\s+(?:this|these)\s+{CONCEALED_NOUNS}\s+(?:secret|hidden|confidential|private|"
        r"from)\b",
    ),
    _rule(
        "covertly",
        1,
        r"\b(?:secretly|covertly|silently|quietly|invisibly|discreetly)\s+(?:send|include|add|append|"
        r"insert|forward|email|post|upload|embed|exfiltrate|transmit|copy|leak)\b",
    ),
    # -- addressed to an AI reading the document
    _rule(
        "when_ai_reads",
        2,
        rf"\b(?:when|if|once|after|while|whenever|as soon as|before)\s+(?:you\s*[(,]\s*"
        rf"(?:the\s+|an?\s+)?{AI_LOOSE}\s*[),]?|(?:an?|the|any|every)\s+{AI_LOOSE})\s*,?\s*(?:is\s+|are\s+|gets?\s+)?"
        r"(?:read\w*|process\w*|summari[sz]\w*|see[sn]?|encounter\w*|retriev\w*|analy[sz]\w*|pars\w*|ingest\w*|"
        r"index\w*|scan\w*|access\w*|load\w*|review\w*|asked|answer\w*|respond\w*|use[sd]?|handl\w*)\b"
        r"[^.!?\n]{0,40}?\b(?:this|these|the following|it|that|my)\b",
    ),
    _rule(
        "if_you_are_ai",
        2,
        rf"\b(?:if|in case|assuming|since|because) you(?:'re| are)\s+(?:an?\s+|the\s+)?(?:{AI}|"
        r"automated (?:system|agent|assistant|reader|tool)|crawler|scraper)(?![\w-])",
    ),
    _rule(
        "ai_reading_this",
        2,
        rf"\b{AI}\s+(?:that\s+(?:is\s+|are\s+)?)?(?:reading|"
        r"reads|processing|processes|summari[sz]ing|summari[sz]es|parsing|analy[sz]ing|ingesting|scanning|"
        r"indexing|retrieving|viewing|seeing|sees)\s+(?:this|these|the following)\b",
    ),
    _rule(
        "vocative",
        2,
        rf"^(?:hey|hi|hello|dear|psst|attention|greetings)\s*,?\s+(?:the\s+|any\s+|all\s+)?{AI}"
        rf"\s*[,:!]|^(?:(?:note|message|important|instructions?|notice|hint|memo|p\.?s\.?|reminder|warning)\s*"
        rf"[,:!-]?\s*(?:to|for)?\s*)?(?:the\s+|any\s+|all\s+)?{AI}\s*[,:]\s*(?:please\s+|kindly\s+)?{IMPERATIVE}",
    ),
    _rule("note_to_assistant", 1, r"\b(?:note|message|instructions?)\s+(?:to|for)\s+(?:the\s+|any\s+)?assistants?\b"),
    _rule(
        "ai_must",
        1,
        rf"\b(?:the|any|an?|all|every|this|each)\s+{AI}\s+(?:must|should|shall|needs? to|has to|have to|"
        rf"is (?:required|instructed|told|ordered|expected) to|are (?:required|instructed|told|ordered|expected) to|"
        rf"will now|is to|are to)\s+(?:(?:now|always|only|not|never)\s+)*{BEHAVE}\b",
    ),
    _rule("ai_named", 1, rf"\b{AI_ONLY}\b"),
    # -- constraints on the answer
    _rule(
        "respond_only_with",
        2,
        r"\b(?:respond|reply|answer|output|say|begin|start|end)\s+"
        r"(?:only|just|exclusively|solely|nothing but|simply|exactly)\s+(?:with\s+|in\s+|using\s+)?(?:the (?:word|"
        r"phrase|text|string|sentence|letters?|following)|\"[^\"]+\"|'[^']+'|a single (?:word|emoji|character|"
        r"letter)|one word|emojis?|json|all caps|uppercase|lowercase)",
    ),
    _rule(
        "only_respond",
        1,
        r"\b(?:only|always|just)\s+(?:respond|reply|answer|output)\s+(?:with|in|using|by)\b|"
        r"\b(?:respond|reply|answer)\s+(?:only|exclusively|solely)\s+(?:with|in|using)\b(?! writing)",
    ),
    _rule(
        "regardless_of_question",
        1,
        r"\bregardless of (?:the |what the |what |any )?(?:user'?s?|question|prompt|"
        r"query|input|request|asked)\b",
    ),
    _rule(
        "instead_of_answering",
        2,
        r"\b(?:instead of|rather than)\s+(?:answering|responding to|replying to|"
        r"summari[sz]ing|addressing|doing)\s+(?:the |their |any |this |that )?(?:user'?s? |original |actual )?"
        r"(?:question|query|request|prompt|task|email|document)",
    ),
    _rule(
        "every_question",
        1,
        r"\b(?:answer|respond to|reply to)\s+(?:every|all|any|each)\s+(?:future |subsequent |"
        r"further )?(?:question|questions|queries|prompts|requests|messages)\s+(?:with|by|using|in)\b",
    ),
    _rule(
        "say_exactly",
        1,
        r"\b(?:say|output|print|write|respond with|reply with|repeat|type)\s+(?:exactly|verbatim|"
        r"only|the following)\s*[:\"']",
    ),
    _rule(
        "answer_language",
        2,
        rf"\b(?:respond|reply|answer|write|translate|provide|give|output|deliver|render|phrase|"
        rf"compose|express|present|formulate|convert)\b[^.!?\n]{{0,40}}?\b(?:your|all|every|each)\s+(?:(?:future|"
        rf"subsequent|following|next|final)\s+)?(?:answers?|responses?|replies|reply|output|summary|summaries|"
        rf"messages?)\b[^.!?\n]{{0,30}}?\b(?:in|into|to|using)\s+{LANGUAGES}\b",
    ),
    _rule(
        "answer_must_be_in",
        2,
        rf"\byour (?:answer|response|reply|output|summary)s? (?:must|should|shall|has to|"
        rf"needs to|will) (?:only )?be (?:written |given |provided |delivered )?(?:entirely |only )?in {LANGUAGES}\b",
    ),
    _rule(
        "language_from_now_on",
        2,
        rf"\b(?:respond|reply|answer|speak|write|communicate|talk)\s+(?:only\s+|"
        rf"exclusively\s+)?in\s+{LANGUAGES}\s*,?\s+(?:from now on|henceforth|for the rest|always|no matter)\b",
    ),
    _rule(
        "always_in_language",
        2,
        rf"\b(?:from now on|henceforth|always|only|exclusively)\s*,?\s+(?:respond|reply|"
        rf"answer|speak|write|communicate|talk)\s+(?:only\s+|exclusively\s+)?in\s+{LANGUAGES}\b",
    ),
    _rule(
        "answer_manipulation",
        2,
        rf"\b{YOUR_ANSWER}\b[^\n]{{0,80}}?\b{MANIPULATION}|\b{MANIPULATION}[^\n]{{0,80}}?"
        rf"\b{YOUR_ANSWER}\b",
    ),
    _rule(
        "answer_edit",
        2,
        rf"\b{STRONG_EDIT}\b{GAP}{{0,100}}?\b{YOUR_ANSWER}\b|\b{YOUR_ANSWER}\b{GAP}{{0,12}}?"
        rf"\b{STRONG_EDIT}\b|^in {YOUR_ANSWER}\s*,\s*{STRONG_EDIT}\b",
    ),
    _rule(
        "answer_insert",
        2,
        rf"\b{WEAK_EDIT}\b{GAP}{{0,60}}?{CONTENT}[^\n]{{0,80}}?\b(?:in|to|into|within|at the "
        rf"(?:end|start|beginning) of)\s+{YOUR_ANSWER}\b|\b{WEAK_EDIT}\b{GAP}{{0,12}}?\b{YOUR_ANSWER}\b"
        rf"{GAP}{{0,30}}?\b(?:with|by)\b{GAP}{{0,40}}?{CONTENT}|^in {YOUR_ANSWER}\s*,\s*(?:please\s+)?"
        rf"{WEAK_EDIT}\b[^\n]{{0,80}}?{CONTENT}",
    ),
    _rule(
        "code_insert",
        2,
        rf"\b(?:following|subsequent|below|above|given|provided|this|these)\s+(?:\w+\s+)?(?:code|"
        rf"snippet|script)\b[^\n]{{0,80}}?\b{CODE_TARGET}\b|\b{CODE_TARGET}\b[^\n]{{0,80}}?\b(?:following|"
        r"subsequent|below)\s+(?:\w+\s+)?(?:code|snippet)\b",
    ),
    # -- tools, links and data leaving
    _rule(
        "exfiltrate",
        2,
        rf"\b(?:send|forward|email|e-mail|mail|post|upload|transmit|exfiltrate|leak|copy|share|"
        r"submit|report|append|encode)\s+(?:\w+\s+){0,5}?(?:the\s+|all\s+|this\s+|any\s+|every\s+)?(?:user'?s?\s+|"
        r"the user'?s\s+|their\s+)?(?:conversation|chat(?: history)?|message history|previous messages|system prompt|"
        r"context|session|api[ -]?keys?|secrets?|tokens?|credentials|passwords?|cookies|personal (?:data|information)|"
        r"private (?:data|information)|(?:user'?s?|their) (?:data|information|details|emails?|messages?|files|"
        rf"documents))\s+(?:\w+\s+){{0,5}}?(?:to|at|via|into|in)\s+(?:{URL}|{EMAIL_ADDRESS})",
    ),
    _rule("image_exfiltration", 2, r"!\[[^\]]*\]\(\s*https?://[^)\s]*(?:\{|\}|\$|%7b|<|\[)"),
    _rule(
        "visit_url",
        1,
        rf"\b(?:visit|open|browse(?: to)?|navigate to|go to|fetch|load|access|retrieve|request|curl|"
        rf"download|follow|click)\s+(?:\w+\s+){{0,3}}?{URL}",
    ),
    _rule(
        "send_to",
        1,
        rf"\b(?:send|forward|email|e-mail|mail|write|compose|draft)\s+(?:\w+\s+){{0,6}}?(?:to|at)\s+"
        rf"{EMAIL_ADDRESS}",
    ),
    _rule(
        "use_tool",
        1,
        r"\b(?:call|invoke|use|run|execute|trigger)\s+(?:the\s+|your\s+)?(?:[\w-]+[ _-]){0,2}?"
        r"(?:tool|function call|plugin|browser|browsing|web[ _-]?search|code interpreter)\b|\byour\s+(?:tools|"
        r"browsing|browser|plugins|web search|search tool|email tool|functions)\b",
    ),
    _rule(
        "tool_syntax",
        1,
        r"\b(?:send_?e?mail|send_?message|fetch_?url|browse|http_?request|web_?search|"
        r"transfer_?funds|delete_\w+)\s*\(",
    ),
    _rule(
        "tell_the_user",
        1,
        r"(?<!not )(?<!n't )(?<!never )\b(?:tell|inform|advise|instruct|remind|urge|ask|convince|persuade|"
        r"encourage)\s+the\s+(?:user|reader)s?\s+(?:to|that)\b",
    ),
)


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(CONFUSABLES).lower().translate(PUNCTUATION)
    return re.sub(r"[ \t\r\f\v]+", " ", text).strip()


def _rule_hits(sentence: str) -> list[Rule]:
    normalized = _normalize(sentence)
    return [rule for rule in RULES if rule.pattern.search(normalized)]


def _score(sentence: str) -> int:
    hits = _rule_hits(sentence)
    score = sum(rule.weight for rule in hits)
    if any(rule.name in ADDRESSEE_SENSITIVE for rule in hits):
        owned = [match for match in READER_OWNS.finditer(_normalize(sentence))]
        if owned:
            score -= 1
    return score


# A sentence ends at a line break, or after . ! ? (and closing quotes) before something that does
# not start with a lower-case letter (so "overnight!" linking ..." stays one sentence).
SENTENCE_END = re.compile(r"\n+|(?<=[.!?;])[\"'\u201d\u2019)\]]*[ \t]+(?=[^a-z\s])")


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences and lines of `text`, without surrounding whitespace."""
    spans = []
    start = 0
    for boundary in SENTENCE_END.finditer(text):
        spans.append((start, boundary.end() if boundary.group().strip() else boundary.start()))
        start = boundary.end()
    spans.append((start, len(text)))
    trimmed = []
    for begin, end in spans:
        piece = text[begin:end]
        left = len(piece) - len(piece.lstrip())
        right = len(piece.rstrip())
        if right > left:
            trimmed.append((begin + left, begin + right))
    return trimmed


def _readings(sentence: str, hidden: list[int]) -> list[str]:
    """The ways a model could read a sentence with invisible characters at `hidden` (offsets in the
    sentence): with them dropped, with them read as spaces (when they separate words), and the ASCII
    smuggled in tag characters (U+E0020-U+E007E mirror printable ASCII)."""
    if not hidden:
        return [sentence]
    positions = set(hidden)
    dropped = "".join(char for index, char in enumerate(sentence) if index not in positions)
    spaced = "".join(" " if index in positions else char for index, char in enumerate(sentence))
    payload = "".join(chr(ord(char) - TAG_FIRST) for char in sentence if 0xE0020 <= ord(char) <= 0xE007E)
    return [dropped, spaced, *(payload[start:end] for start, end in sentences(payload))]


def _flagged(plain: str, hidden: list[int]) -> list[tuple[int, int]]:
    """Spans of the sentences of `plain` (text without sentinels) that read as an instruction."""
    flagged = []
    for start, end in sentences(plain):
        inside = [position - start for position in hidden if start <= position < end]
        if any(_score(reading) >= THRESHOLD for reading in _readings(plain[start:end], inside)):
            flagged.append((start, end))
    return flagged


def explain(text: str) -> list[tuple[str, list[str]]]:
    """Each sentence that scored, with the names of its rules (for evaluation and debugging)."""
    clean = strip_invisible(text)
    found = []
    for start, end in sentences(clean):
        hits = _rule_hits(clean[start:end])
        if hits:
            found.append((clean[start:end], [rule.name for rule in hits]))
    return found


def scan(text: str) -> tuple[str, ...]:
    """The flags of `text`, in the order of FLAGS."""
    plain = _without_sentinels(text)
    hidden = _suspicious_invisible(plain)
    flags = set()
    if _flagged(plain, hidden):
        flags.add(INSTRUCTION)
    if hidden:
        flags.add(ZERO_WIDTH)
    if len(plain) != len(text):
        flags.add(HIDDEN_HTML)
    return tuple(flag for flag in FLAGS if flag in flags)


def neutralize(text: str) -> str:
    """`text` for a prompt: flagged sentences replaced by "[instruction removed]", suspicious invisible
    characters and hidden-HTML sentinels removed (hidden text that is not an instruction stays)."""
    plain = _without_sentinels(text)
    hidden = _suspicious_invisible(plain)
    spans = _flagged(plain, hidden)
    drop = set(hidden)
    pieces = []
    cursor = 0
    for start, end in [*spans, (len(plain), len(plain))]:
        pieces.append("".join(char for index, char in enumerate(plain[cursor:start], cursor) if index not in drop))
        if start < len(plain):
            pieces.append(REMOVED)
        cursor = end
    return "".join(pieces)


def hidden_html_carried(texts: Iterable[str]) -> list[bool]:
    """For consecutive, overlapping windows of one text (chunks in order): whether each window lies
    inside hidden HTML text that started in an earlier window, so it contains no sentinel itself."""
    inside = False
    carried = []
    for text in texts:
        carried.append(inside and HIDDEN_START not in text and HIDDEN_END not in text)
        last_start, last_end = text.rfind(HIDDEN_START), text.rfind(HIDDEN_END)
        if last_start != -1 or last_end != -1:
            inside = last_start > last_end
    return carried
