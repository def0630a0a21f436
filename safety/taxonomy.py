"""The policy taxonomy: what the assistant will not help with, and what it does by default.

Actions, from least to most strict: "allow" (answer), "caution" (answer with a short note, e.g. see
a professional), "refuse" (a short refusal that says what cannot be helped with and offers a safe
alternative). The defaults here are the appliance's floor: a tenant's policy and region profile can
make a category stricter, never looser.
"""

from dataclasses import dataclass

ACTIONS = ("allow", "caution", "refuse")
GENERAL_NOTE = "Note: this touches on a sensitive subject; treat it as general information and check official sources."


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    covers: str
    default: str
    refusal: str  # what the assistant says instead of answering
    note: str = GENERAL_NOTE  # what it adds to an answer under "caution"


CATEGORIES: tuple[Category, ...] = (
    Category(
        "violent_crime",
        "Violent crime",
        "planning or carrying out violence against people: murder, assault, kidnapping, terrorism",
        "refuse",
        "I can't help with hurting people or planning violence. If someone is in danger, please contact "
        "your local emergency number. I can help with safety, conflict de-escalation or how to report a threat.",
    ),
    Category(
        "weapons",
        "Weapons and explosives",
        "making, modifying or illegally acquiring firearms, explosives or other weapons",
        "refuse",
        "I can't help with making or illegally obtaining weapons or explosives. I can help with legal "
        "ownership rules, safe storage or the history of a weapon.",
    ),
    Category(
        "cbrn",
        "Chemical, biological, radiological and nuclear weapons",
        "producing, acquiring or spreading agents capable of mass casualties",
        "refuse",
        "I can't help with chemical, biological, radiological or nuclear weapons. I can help with "
        "general safety information or how such threats are prevented.",
    ),
    Category(
        "cyber_crime",
        "Cyber crime",
        "malware, breaking into systems or accounts without authorisation, attacks on services",
        "refuse",
        "I can't help with breaking into systems or writing malicious code. I can help with securing "
        "systems, defensive practices or how to report a vulnerability responsibly.",
    ),
    Category(
        "fraud",
        "Fraud and deception",
        "scams, phishing, identity theft, forgery, counterfeiting, money laundering",
        "refuse",
        "I can't help with deceiving or defrauding people. I can help you recognise scams or protect "
        "yourself and your organisation against fraud.",
    ),
    Category(
        "drugs",
        "Illegal drugs",
        "producing, extracting or trafficking illegal drugs",
        "refuse",
        "I can't help with making or selling illegal drugs. If you or someone you know is struggling "
        "with substance use, I can point you to support and harm-reduction information.",
    ),
    Category(
        "self_harm",
        "Self-harm and suicide",
        "methods of, or encouragement to, suicide, self-injury or disordered eating",
        "refuse",
        "I'm really sorry you're going through this. I can't help with ways to hurt yourself, but you "
        "don't have to face this alone: please reach out to someone you trust or a crisis line. In the "
        "US call or text 988, in the UK and Ireland call Samaritans on 116 123, elsewhere find a "
        "helpline at findahelpline.com, or call your local emergency number if you are in danger now.",
    ),
    Category(
        "sexual_minors",
        "Sexual content involving minors",
        "any sexualisation of minors",
        "refuse",
        "I can't help with that. If a child is at risk, please contact local authorities or a child "
        "protection hotline.",
    ),
    Category(
        "sexual_content",
        "Sexual content",
        "explicit sexual content, sexual services",
        "refuse",
        "I can't produce explicit sexual content. I can help with relationships, sexual health or "
        "education questions in a factual way.",
    ),
    Category(
        "hate",
        "Hate",
        "content that demeans or incites against people for a protected characteristic",
        "refuse",
        "I can't write content that demeans people for who they are. I can help with respectful "
        "communication or information about discrimination and how to counter it.",
    ),
    Category(
        "harassment",
        "Harassment and threats",
        "bullying, intimidation, threats or defamation aimed at a person",
        "refuse",
        "I can't help with harassing, threatening or defaming someone. I can help you write a firm, "
        "respectful message or find ways to resolve the conflict.",
    ),
    Category(
        "privacy",
        "Privacy",
        "tracking, doxxing, surveilling or exposing personal data of private individuals",
        "refuse",
        "I can't help with tracking people or exposing their personal information. I can help with "
        "protecting your own privacy or data-protection rules.",
    ),
    Category(
        "misinformation",
        "Deceptive content",
        "disinformation campaigns, fake news, impersonation, election manipulation",
        "refuse",
        "I can't help create misleading content or manipulate elections. I can help with fact-checking "
        "or presenting a position honestly.",
    ),
    Category(
        "copyright",
        "Copyrighted works",
        "reproducing substantial parts of copyrighted works (lyrics, book chapters, paywalled articles)",
        "refuse",
        "I can't reproduce copyrighted text at length. I can summarise it, discuss it or quote a short passage.",
    ),
    Category(
        "specialized_advice",
        "Specialised advice",
        "individual medical, legal or financial decisions",
        "caution",
        "I can't give individual medical, legal or financial advice here; please consult a qualified "
        "professional. I can share general information on the subject.",
        "This is general information, not professional advice: for a decision about your health, legal "
        "position or finances, please consult a qualified professional.",
    ),
    Category(
        "regulated_goods",
        "Regulated goods and gambling",
        "buying or using alcohol, tobacco, cannabis, gambling and betting, legal firearm purchase",
        "allow",
        "This organisation's policy does not allow help with alcohol, tobacco, gambling or other "
        "regulated goods here. I can help with the rules that apply or with support services.",
    ),
    Category(
        "political_persuasion",
        "Political persuasion",
        "campaign messaging, targeting voters, partisan persuasion",
        "allow",
        "This organisation's policy does not allow political campaign content here. I can give "
        "neutral, factual information about parties, positions or how to vote.",
        "Note: this presents one side of a political question; other positions and official sources "
        "are worth reading too.",
    ),
)

BY_ID = {category.id: category for category in CATEGORIES}

# Region profiles tighten the floor where local law or custom asks for it; a tenant picks one.
REGION_PROFILES: dict[str, dict[str, str]] = {
    "default": {},
    "eu": {"political_persuasion": "caution"},
    "education": {"regulated_goods": "refuse", "political_persuasion": "refuse"},
    "strict": {"specialized_advice": "refuse", "regulated_goods": "refuse", "political_persuasion": "refuse"},
}


def stricter(a: str, b: str) -> str:
    return a if ACTIONS.index(a) >= ACTIONS.index(b) else b


def floor(region: str = "default") -> dict[str, str]:
    """The action per category before the tenant's own overrides."""
    profile = REGION_PROFILES[region]
    return {c.id: stricter(profile.get(c.id, c.default), c.default) for c in CATEGORIES}
