"""HTML made ready for partitioning: active content dropped, hidden text marked.

Text the page hides from readers (display:none, visibility:hidden, zero font size or opacity, text the
colour of its background, the `hidden` attribute, aria-hidden text moved off-screen) is wrapped in the
sentinels of `safety.injection`, which survive partitioning and chunking: the chunk gets the
"hidden:html" flag and the sentinels are removed before the text is stored. Styles come from inline
`style` attributes, old presentational attributes, and simple class, id and tag rules of `<style>`
blocks (outside @media and other at-rules); a stylesheet linked from elsewhere is not seen.
"""

import re

from lxml import html as lxml_html

from ingestion.parsers import ParseError
from safety.injection import HIDDEN_END, HIDDEN_START, SENTINELS

ACTIVE_CONTENT = "//script|//style|//noscript|//template|//iframe|//object|//embed"


def html_prepared(text: str) -> str:
    """Drop scripts, styles and embedded objects (never indexed, never shown) and mark hidden text."""
    try:
        parser = lxml_html.HTMLParser(encoding="utf-8")
        document = lxml_html.document_fromstring(without_sentinels(text).encode(), parser=parser)
    except Exception as exc:  # lxml raises several types for hopeless markup
        raise ParseError(f"the HTML cannot be parsed ({exc})") from exc
    rules = _style_rules(document)
    for node in document.xpath(ACTIVE_CONTENT):
        node.drop_tree()
    _mark_hidden(document, rules)
    return lxml_html.tostring(document, encoding="unicode")


def without_sentinels(text: str) -> str:
    """A document cannot bring its own sentinels (it could close a hidden span early)."""
    return text.translate({ord(char): None for char in SENTINELS})


# --- hidden HTML text ------------------------------------------------------------------------------

COLOR_NAMES = {
    "white": (255, 255, 255),
    "snow": (255, 250, 250),
    "ivory": (255, 255, 240),
    "ghostwhite": (248, 248, 255),
    "whitesmoke": (245, 245, 245),
    "floralwhite": (255, 250, 240),
    "mintcream": (245, 255, 250),
    "azure": (240, 255, 255),
    "aliceblue": (240, 248, 255),
    "seashell": (255, 245, 238),
    "black": (0, 0, 0),
    "red": (255, 0, 0),
    "green": (0, 128, 0),
    "blue": (0, 0, 255),
    "gray": (128, 128, 128),
    "grey": (128, 128, 128),
    "silver": (192, 192, 192),
    "navy": (0, 0, 128),
}
LENGTH = re.compile(r"^(-?\d*\.?\d+)\s*([a-z%]*)$")
SIMPLE_SELECTOR = re.compile(r"^([a-z][a-z0-9]*)?((?:[.#][\w-]+)*)$")
OFF_SCREEN = {"px": -500, "pt": -400, "em": -30, "rem": -30, "vw": -90, "vh": -90, "%": -90, "cm": -15, "in": -5}
MIN_CONTRAST = 1.25  # WCAG contrast ratio; #eeeeee on white is 1.16
STYLE_PROPERTIES = {
    "display", "visibility", "opacity", "font-size", "color", "background", "background-color", "overflow",
    "height", "max-height", "width", "max-width", "left", "top", "right", "bottom", "margin-left",
    "margin-top", "text-indent", "clip", "clip-path",
}  # fmt: skip


def _declarations(style: str) -> dict[str, str]:
    found = {}
    for part in style.split(";"):
        name, colon, value = part.partition(":")
        if colon:
            found[name.strip().lower()] = value.replace("!important", "").strip().lower()
    return found


def _style_rules(document) -> dict[str, list]:
    """The simple-selector rules of the page's <style> blocks that can hide text, indexed by their
    id, else first class, else tag: (order, tag, classes, id, declarations)."""
    index: dict[str, list] = {}
    order = 0
    for node in document.xpath("//style"):
        css = re.sub(r"/\*.*?\*/", "", node.text_content() or "", flags=re.DOTALL)
        for selectors, body in _top_level_rules(css):
            declarations = {name: value for name, value in _declarations(body).items() if name in STYLE_PROPERTIES}
            if not declarations:
                continue
            for selector in selectors.split(","):
                match = SIMPLE_SELECTOR.match(selector.strip().lower())
                if not match or not (match.group(1) or match.group(2)):
                    continue
                parts = re.findall(r"([.#])([\w-]+)", match.group(2))
                classes = {name for kind, name in parts if kind == "."}
                rule_id = next((name for kind, name in parts if kind == "#"), "")
                key = f"#{rule_id}" if rule_id else f".{min(classes)}" if classes else match.group(1)
                index.setdefault(key, []).append((order, match.group(1) or "", classes, rule_id, declarations))
                order += 1
    return index


def _top_level_rules(css: str) -> list[tuple[str, str]]:
    """(selectors, declarations) of the rules outside at-rules (@media print hides things on paper)."""
    rules = []
    depth = 0
    start = 0
    at_rule = False
    for index, char in enumerate(css):
        if char == "{":
            if depth == 0:
                prelude = css[start:index].strip()
                at_rule = prelude.startswith("@")
                selectors, body_start = prelude, index + 1
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                if not at_rule:
                    rules.append((selectors, css[body_start:index]))
                start = index + 1
        elif char == ";" and depth == 0:
            start = index + 1  # a statement at-rule such as @import
    return rules


def _computed(element, rules: dict[str, list]) -> dict[str, str]:
    """The element's declarations: matching <style> rules in order, then its style attribute."""
    tag = element.tag.lower()
    classes = set((element.get("class") or "").lower().split())
    element_id = (element.get("id") or "").lower()
    found: dict[str, str] = {}
    keys = [tag, *(f".{name}" for name in classes), *([f"#{element_id}"] if element_id else [])]
    candidates = sorted((rule for key in keys for rule in rules.get(key, ())), key=lambda rule: rule[0])
    for _, rule_tag, rule_classes, rule_id, declarations in candidates:
        if (not rule_tag or rule_tag == tag) and rule_classes <= classes and (not rule_id or rule_id == element_id):
            found.update(declarations)
    found.update(_declarations(element.get("style") or ""))
    if tag == "font" and element.get("color") and "color" not in found:
        found["color"] = element.get("color").lower()
    if element.get("bgcolor") and "background-color" not in found:
        found["background-color"] = element.get("bgcolor").lower()
    return found


def _length(value: str) -> tuple[float, str] | None:
    match = LENGTH.match(value.strip())
    return (float(match.group(1)), match.group(2)) if match else None


def _color(value: str) -> tuple[tuple[int, int, int], float] | None:
    """((r, g, b), alpha) of a CSS colour, or None when it cannot be read (a gradient, a variable)."""
    value = value.strip()
    if value == "transparent":
        return (0, 0, 0), 0.0
    if value in COLOR_NAMES:
        return COLOR_NAMES[value], 1.0
    if re.fullmatch(r"#[0-9a-f]{3,4}|#[0-9a-f]{6}|#[0-9a-f]{8}", value):
        digits = value[1:]
        if len(digits) in (3, 4):
            digits = "".join(char * 2 for char in digits)
        alpha = int(digits[6:8], 16) / 255 if len(digits) == 8 else 1.0
        return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)), alpha
    match = re.fullmatch(r"rgba?\(\s*([\d.]+%?)[\s,]+([\d.]+%?)[\s,]+([\d.]+%?)(?:\s*[,/]\s*([\d.]+%?))?\s*\)", value)
    if match:
        channels = [float(part[:-1]) * 2.55 if part.endswith("%") else float(part) for part in match.groups()[:3]]
        alpha_text = match.group(4)
        alpha = 1.0
        if alpha_text:
            alpha = float(alpha_text[:-1]) / 100 if alpha_text.endswith("%") else float(alpha_text)
        return (int(channels[0]), int(channels[1]), int(channels[2])), alpha
    return None


def _background(declarations: dict[str, str]):
    """The background colour an element declares: a colour, "unknown" (an image or a gradient), or None."""
    if "background-color" in declarations:
        return _color(declarations["background-color"]) or "unknown"
    if "background" in declarations:
        value = declarations["background"]
        if "url(" in value or "gradient" in value:
            return "unknown"
        for token in re.findall(r"#[0-9a-f]+|rgba?\([^)]*\)|[a-z]+", value):
            color = _color(token)
            if color is not None:
                return color
        return "unknown"
    return None


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(value: int) -> float:
        value = value / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(value) for value in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def _invisible_on(color, background) -> bool:
    """Text of `color` cannot be seen on `background` (the page is white where nothing is declared)."""
    if color is None:
        return False
    rgb, alpha = color
    if alpha <= 0.05:
        return True
    if background == "unknown":
        return False
    back = background[0] if background and background[1] > 0.05 else (255, 255, 255)
    lighter, darker = sorted((_luminance(rgb), _luminance(back)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05) < MIN_CONTRAST


def _is_off_screen(declarations: dict[str, str]) -> bool:
    for name in ("left", "top", "right", "bottom", "margin-left", "margin-top", "text-indent"):
        length = _length(declarations.get(name, ""))
        if length and length[0] <= OFF_SCREEN.get(length[1] or "px", -500):
            return True
    clip = declarations.get("clip", "") + declarations.get("clip-path", "")
    return bool(re.search(r"rect\(\s*0[a-z]*[\s,]+0|rect\(\s*1px[\s,]+1px|inset\(\s*(?:50|100)%", clip))


def _hides(element, declarations: dict[str, str]) -> bool:
    """The element and everything in it is invisible, whatever the colours."""
    if element.get("hidden") is not None or (element.tag == "dialog" and element.get("open") is None):
        return True
    if declarations.get("display") == "none" or declarations.get("visibility") in ("hidden", "collapse"):
        return True
    opacity = _length(declarations.get("opacity", ""))
    if opacity and opacity[0] <= (5 if opacity[1] == "%" else 0.05):
        return True
    size = _length(declarations.get("font-size", ""))
    tiny = {"": 0, "px": 1, "pt": 1, "em": 0.1, "rem": 0.1, "%": 10, "vw": 0.05, "vh": 0.05}
    if size and size[0] <= tiny.get(size[1], 0):
        return True
    overflow_hidden = declarations.get("overflow", "") in ("hidden", "clip")
    for name in ("height", "max-height", "width", "max-width"):
        length = _length(declarations.get(name, ""))
        if overflow_hidden and length and length[0] == 0:
            return True
    return (element.get("aria-hidden") or "").lower() == "true" and _is_off_screen(declarations)


def _wrapped(text: str | None) -> str | None:
    if not text or not text.strip():
        return text
    core = text.strip()
    start = text.index(core)
    return f"{text[:start]}{HIDDEN_START}{core}{HIDDEN_END}{text[start + len(core) :]}"


def _mark_hidden(document, rules) -> None:
    """Wrap every text node the page hides in sentinels. Colour is inherited; a background is
    painted behind descendants that declare none. Walked with a stack: markup can nest deeply."""
    stack = [(document, False, None, None)]
    while stack:
        element, hidden_above, color_above, background_above = stack.pop()
        if not isinstance(element.tag, str):  # comments and processing instructions
            continue
        declarations = _computed(element, rules)
        hidden = hidden_above or _hides(element, declarations)
        color = color_above
        if declarations.get("color", "inherit") not in ("inherit", "currentcolor"):
            color = _color(declarations["color"])  # None when unreadable (a variable): assumed visible
        declared = _background(declarations)
        see_through = declared is not None and declared != "unknown" and declared[1] <= 0.05
        background = background_above if declared is None or see_through else declared
        if hidden or _invisible_on(color, background):
            element.text = _wrapped(element.text)
            for child in element:
                child.tail = _wrapped(child.tail)
        stack.extend((child, hidden, color, background) for child in element)
