"""Harmful intent in words: a request to produce or do something (not to understand or prevent it)
that names a harm. A second opinion for texts the embedding model scores as somewhat harmful: the
embeddings see the topic, these patterns see the ask. Neither alone decides a borderline text.
"""

import re

_ASK = re.compile(
    r"(?:^|[,:;.]\s+)\s*(?:please\s+|can you\s+|could you\s+|i (?:want|need) (?:you )?to\s+|help me\s+|let'?s\s+)?"
    r"(?:write|create|develop|design|build|make|produce|generate|draft|compose|craft|code|program|outline|plan|"
    r"give|provide|list|suggest|offer|teach|instruct|show|demonstrate|explain how to|describe (?:how|ways) to|"
    r"tell me how to|brainstorm|publish|post|spread|use|conduct|launch|manipulate|interfere|hack|steal|cheat)\b"
    r"|\bhow (?:to|do i|can i|would i|could i|should i|do you)\b"
    r"|\b(?:step[- ]by[- ]step|detailed|tutorial|guide|instructions|recipe|blueprint|manual|walk me through)\b",
    re.IGNORECASE,
)

_UNDERSTAND_OR_PREVENT = re.compile(
    r"\b(?:prevent\w*|protect\w*|defend\w*|defen[cs]e|detect\w*|recogni[sz]\w*|spot(?:ting)?|identify(?:ing)? signs|"
    r"avoid (?:being|becoming|falling)|report\w*|awareness|mitigat\w*|secur(?:e|ing) (?:our|my|the)|"
    r"histor\w*|statistic\w*|research(?:ers)?|regulat\w*|laws? (?:on|about|against)|legal(?:ly)? (?:to|age)|"
    r"support(?:ing)? (?:someone|a friend|a colleague)|cope|coping|recover\w*|warning signs|"
    r"symptoms?|treat(?:ment)?|first aid|safely dispose|what to do if|train(?:ing)? (?:our |my )?staff|"
    r"moderat\w+|filter\w*|fiction(?:al)? (?:analysis|review)|summar\w+|review of the book|"
    r"safely|respond (?:when|to)|get (?:my|our|the) account back|counter(?:ing)? |stop(?:ping)? \w+ing|"
    r"victims?|keep \w+ (?:\w+ ){0,3}out of|warn\w*|simulation|with (?:hr|legal)'?s? approval|block\w*|"
    r"polic(?:y|ies)|procedures?|code of conduct|guidelines?|remov\w* (?:my|our)|opt out|delete my)\b",
    re.IGNORECASE,
)

HARMS: dict[str, re.Pattern] = {
    category: re.compile(pattern, re.IGNORECASE)
    for category, pattern in {
        "sexual_minors": r"\b(?:child (?:porn\w*|sexual abuse|exploitation)|molest\w*|groom(?:ing)? (?:a |other )?"
        r"(?:minor|child|kid|users)|sexual\w* (?:\w+ ){0,3}(?:minor|child|kid|teen|\d{1,2}[- ]year[- ]old))",
        "self_harm": r"\b(?:self[- ]harm\w*|suicid\w*|kill (?:myself|yourself|themselves)|end (?:my|your|their) life|"
        r"starve (?:myself|yourself)|anorexi\w+|bulimi\w+)",
        "cbrn": r"\b(?:nerve agent|sarin|vx gas|ricin|anthrax|botulinum|pathogen\w*|bioweapon\w*|chemical weapon\w*|"
        r"dirty bomb|plutonium|nuclear (?:weapon|bomb|device)|mustard gas|"
        r"toxic gas|poison gas)",
        "weapons": r"\b(?:bomb\w*|explosive\w*|detonat\w*|firearm\w*|gun\w*|rifle\w*|ammunition|silencer|"
        r"untraceable|ghost gun|grenade\w*|molotov|napalm|weapon\w*|serial number)",
        "violent_crime": r"\b(?:kill\w*|murder\w*|assassinat\w*|terror\w*|mass shooting|shoot(?:ing)? (?:up|people)|"
        r"kidnap\w*|hostage\w*|physical harm|hurt (?:someone|people|others)|torture\w*|violence against|"
        r"attack on (?:a |the )?(?:crowd|train|station|school|stadium|civilians|government)|poison(?:ing)? "
        r"(?:someone|a person|my|his|her)|traffick\w*|arson|sabotag\w*|radicali[sz]\w*|extremis\w*|riot\w*)",
        "cyber_crime": r"\b(?:malware|ransomware|keylogger\w*|spyware|trojan\w*|virus\w*|worm\w*|botnet\w*|ddos|"
        r"denial of service|hack\w*|crack(?:ing)? passwords?|exploit(?:s|ing)? (?:\w+ ){0,2}vulnerabilit\w+|"
        r"sql injection attack|brute[- ]force|phishing|spoof\w*|break into|infiltrat\w*|backdoor\w*|rootkit\w*|"
        r"steal\w* (?:\w+ ){0,3}(?:data|credentials|passwords?|information)|bypass (?:\w+ ){0,2}(?:security|"
        r"authentication|antivirus|drm)|circumvent\w* (?:\w+ ){0,2}(?:security|drm|protections?)|pirat\w+)",
        "fraud": r"\b(?:fraud\w*|scam\w*|counterfeit\w*|launder\w*|forge\w*|forgery|identity theft|"
        r"fake (?:reviews?|ids?|identity|invoices?|documents?|profiles?|accounts?|charity)|insider trading|"
        r"tax evasion|evade taxes|embezzl\w*|ponzi|pyramid scheme|steal\w*|theft|shoplift\w*|rob\w*|"
        r"manipulat\w* (?:\w+ ){0,2}(?:stock|market|financial|prices?|data)|"
        r"credit card (?:fraud|information|numbers?)|bribe\w*|blackmail\w*|extort\w*|ransom)",
        "drugs": r"\b(?:meth\w*|cocaine|heroin|crack cocaine|mdma|lsd|synthesi[sz]\w* (?:\w+ ){0,3}drugs?|"
        r"illegal drugs?|drug (?:dealing|trafficking|lab)|steroids|performance[- ]enhancing drugs|"
        r"sell (?:\w+ ){0,2}drugs|grow (?:cannabis|weed) (?:to sell|illegally))",
        "hate": r"\b(?:hate speech|racis\w*|white supremac\w*|inferior (?:race|people)|ethnic cleansing|"
        r"(?:against|about) (?:\w+ ){0,2}(?:minorit\w+|immigrants|muslims|jews|women|black people|gay people)|"
        r"antisemit\w*|holocaust (?:denial|was (?:a hoax|fake))|dehumaniz\w*)",
        "harassment": r"\b(?:harass\w*|cyberbull\w*|bully\w*|threaten\w*|intimidat\w*|hate mail|defam\w*|"
        r"humiliat\w*|stalk\w*|doxx?\w*|revenge porn)",
        "privacy": r"\b(?:track (?:someone|my (?:ex|wife|husband|partner)|a person)|spy on|surveil\w*)",
        "misinformation": r"\b(?:fake news|misinformation|disinformation|false information|propaganda|"
        r"conspiracy theor\w*|mislead\w*|hoax|deepfake\w*|rig (?:an |the )?election|voter suppression|"
        r"discourag\w* (?:\w+ ){0,3}(?:voting|vaccin\w*|masks?))",
    }.items()
}

_DANGER = re.compile(
    r"\b(?:without (?:getting caught|being (?:caught|detected|noticed|traced))|get away with|avoid detection|"
    r"untraceable|leav(?:e|ing) no (?:evidence|trace)|cover (?:it|my tracks) up|undetected|"
    r"(?:encourag|promot|glorif|normali[sz])\w* (?:\w+ ){0,4}(?:violence|suicide|self[- ]harm|drugs|"
    r"eating disorders?|crime|terror\w*|hate))",
    re.IGNORECASE,
)


# Everyday phrases that borrow a harm's word.
_IDIOMS = re.compile(
    r"\b(?:bath bombs?|photo ?bomb\w*|bomb(?:ed)? (?:the|my) (?:exam|test|interview)|hack(?:ing)? together|"
    r"hackathon|life ?hacks?|growth hack\w*|steal(?:ing)? the (?:show|spotlight)|kill(?:ing)? (?:bacteria|germs|"
    r"weeds|mould|mold|time)|kill\w* (?:\w+ ){0,3}(?:process(?:es)?|pids?|tasks?|jobs?|containers?|pods?|sessions?|"
    r"threads?|quer(?:y|ies)|connections?|servers?|apps?|tabs?|programs?|scripts?|builds?)|pirate "
    r"(?:shanty|costume|ship|party|hat)|killer (?:app|feature)|crack(?:ing)? (?:a joke|the code of|eggs))\b",
    re.IGNORECASE,
)


def harmful_intent(text: str) -> str | None:
    """The category a request to produce or carry out harm names, or None (also when the text is about
    understanding, preventing or recovering from it)."""
    text = _IDIOMS.sub(" ", text)
    if _UNDERSTAND_OR_PREVENT.search(text) and not _DANGER.search(text):
        return None
    if not (_ASK.search(text) or _DANGER.search(text)):
        return None
    for category, pattern in HARMS.items():
        if pattern.search(text):
            return category
    return None
