"""High-precision regular expressions for requests that are unambiguous whatever the context.

A rule fires only on a request shape ("how do I", "give me the steps to", "write a ...") joined to
an object that has no harmless reading: a pipe bomb, a nerve agent, ransomware, crack cocaine, a
method of suicide, sexual content about a child. Asking about a subject is not enough: "how did the
sarin attack happen", "how does ransomware spread", "how do I report child abuse material" and "how
do I help a friend who wants to kill himself" pass, and are left to the embedded model, which is
where recall comes from. The words allowed between the request and the object are a short closed
list (articles, "my own", "homemade", a language name), so "make a list of nerve agents" or "write a
ransomware response plan" do not match.

For role="assistant" a match right after a negation ("I can't explain how to make a pipe bomb") is
ignored: that is a refusal, not an answer.
"""

import re
from dataclasses import dataclass

from safety.classifiers.base import Verdict

# How a request starts, up to the verb.
REQUEST = (
    r"(?:how\s+(?:do|can|could|would|should|might|does)\s+(?:i|we|you|one|someone|somebody|a\s+person)"
    r"(?:\s+(?:actually|really|easily|quickly|safely|secretly|quietly|best))?"
    r"|how\s+to|best\s+way\s+to|easiest\s+way\s+to|quickest\s+way\s+to|cheapest\s+way\s+to|ways?\s+to"
    r"|steps?\s+(?:to|for)|instructions?\s+(?:to|for|on)|recipe\s+(?:to|for)|guide\s+(?:to|for|on)"
    r"|tutorial\s+(?:on|for)|procedure\s+(?:to|for)|process\s+(?:to|for)"
    r"|(?:teach|show|tell)\s+me\s+(?:how\s+)?to|explain\s+how\s+to|walk\s+me\s+through\s+(?:how\s+to\s+)?"
    r"|help\s+me(?:\s+to)?|i\s+(?:want|need|plan|intend|am\s+going|'m\s+going)\s+to|let's"
    r"|where\s+(?:can|could|do)\s+i)"
)
# Words that may stand between a verb and its object.
FILLER = (
    r"(?:\s+(?:a|an|the|some|my|our|own|homemade|home-made|diy|simple|basic|small|big|large|crude|real|working"
    r"|functional|powerful|effective|deadly|lethal|pure|high-grade|good|batch|batches|quantity|amount|of|at|home"
    r"|kilo|kilos|gram|grams|little|untraceable|undetectable|stealthy|custom|new|quick|python|c|c\+\+|powershell"
    r"|javascript|rust|go|bash|windows|android|linux|mac|ios|piece|bit|weaponi[sz]ed|enough|more))*"
)


def _rule(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE)


# --- weapons -------------------------------------------------------------------------------------
MAKE = r"(?:make|build|assemble|construct|create|manufacture|produce|put\s+together|3d[- ]?print|print|rig|fashion)"
DEVICE = (
    r"(?:pipe[- ]?bombs?|nail[- ]?bombs?|car[- ]?bombs?|letter[- ]?bombs?|pressure[- ]cooker[- ]bombs?"
    r"|molotov(?:\s+cocktails?)?|i\.?e\.?ds?|improvised\s+explosive(?:\s+devices?)?|suicide\s+(?:vests?|belts?)"
    r"|(?:hand\s+)?grenades?|tatp|hmtd|napalm|ghost\s+guns?|zip\s+guns?"
    r"|(?:untraceable|unregistered|unserialized)\s+(?:guns?|firearms?|pistols?|rifles?|handguns?)"
    r"|(?:gun|firearm|pistol|rifle|handgun)\s+(?:silencers?|suppressors?)"
    r"|bombs?(?![- ]?(?:shell|proof|squad|disposal|threat|calorimeter|cyclone|pop|ass)))"
)
WEAPONS = (
    _rule(rf"\b{REQUEST}\s+{MAKE}{FILLER}\s+{DEVICE}\b"),
    _rule(
        rf"\b{REQUEST}\s+(?:convert|turn|modify|make)\b[^.?!\n]{{0,40}}?\b(?:to|into)\s+"
        r"(?:(?:a\s+)?full[- ]?auto(?:matic)?|(?:a\s+)?fully[- ]automatic|automatic\s+fire|select[- ]fire"
        r"|machine\s+gun)\b"
    ),
    _rule(
        rf"\b{REQUEST}\s+(?:buy|get|obtain|purchase)\s+(?:a|an)\s+(?:gun|firearm|handgun|pistol|rifle|weapon)\s+"
        r"without\s+(?:a\s+|any\s+)?(?:background\s+check|license|licence|paperwork|serial\s+number)"
    ),
)

# --- chemical, biological, radiological, nuclear ---------------------------------------------------
PRODUCE = (
    r"(?:make|synthesi[sz]e|produce|manufacture|cook|brew|extract|purify|culture|cultivate|grow|weaponi[sz]e"
    r"|aerosoli[sz]e|enrich|build|create|prepare|isolate|release|spread|disperse|deploy)"
)
AGENT = (
    r"(?:sarin|soman|tabun|cyclosarin|vx(?:\s+(?:nerve\s+)?(?:agent|gas))?|novichok|nerve\s+(?:agents?|gas)"
    r"|(?:sulfur\s+|sulphur\s+)?mustard\s+gas|ricin|abrin|anthrax(?:\s+spores)?|bacillus\s+anthracis"
    r"|botulinum(?:\s+toxin)?|smallpox|variola|(?:bubonic\s+|pneumonic\s+)?plague\s+bacteria|yersinia\s+pestis"
    r"|dirty\s+bombs?|(?:chemical|biological|bio|nuclear|radiological)\s+(?:weapons?|bombs?)|bio-?weapons?"
    r"|nukes?|atomic\s+bombs?|weapons?[- ]grade\s+(?:uranium|plutonium))"
    r"(?!\s*(?:vaccin|antidote|treatment|test|symptom|exposure|poisoning|detector|sensor|protection|defen[cs]e"
    r"|treaty|convention|history))"
)
CBRN = (_rule(rf"\b{REQUEST}\s+{PRODUCE}{FILLER}\s+{AGENT}\b"),)

# --- cyber crime ------------------------------------------------------------------------------------
WRITE = r"(?:write|code|program|develop|build|create|make|generate|give\s+me|craft|design)"
MALWARE = (
    r"(?:ransomware|key\s?loggers?|keystroke\s+loggers?|rootkits?|botnets?|remote\s+access\s+trojans?"
    r"|(?:banking\s+)?trojans?\s+(?:malware|virus|payload|dropper)|banking\s+trojans?|info-?stealers?"
    r"|password[- ]stealers?|credential[- ]stealers?|cookie[- ]stealers?"
    r"|stalkerware|spyware|cryptojackers?|malware|computer\s+virus(?:es)?)"
    r"(?!\s*(?:response|recovery|polic|playbook|detect|protection|defen[cs]e|incident|awareness|training|report"
    r"|summary|plan|rule|signature|scanner|removal|remover|simulation|tabletop|analysis|diagram|lab\b|exercise"
    r"|family|families|trends?|statistics|attack\s+(?:response|plan)|-?resistant|-?proof|check|story|stories|novel|poem"
    r"|essay|article|blog|explainer|presentation|quiz|course|lecture|joke))"
)
TARGET = (
    r"(?:someone(?:\s+else)?'?s|somebody'?s|other\s+people'?s|her|his|their|a\s+(?:stranger|celebrity|coworker)'?s"
    r"|my\s+(?:ex|ex-?(?:girlfriend|boyfriend|wife|husband|partner)|girlfriend|boyfriend|wife|husband|partner|boss"
    r"|neighbou?r|coworker|co-worker|colleague|teacher|sister|brother|friend|roommate|classmate|crush|mom|dad)'?s"
    r"|the\s+neighbou?rs'?)"
)
ACCOUNT = (
    r"(?:e-?mail|gmail|outlook|account|accounts|instagram|facebook|snapchat|tiktok|twitter|whatsapp|phone|iphone"
    r"|wi-?fi|icloud|bank\s+account|computer|laptop|webcam|camera|messages|texts)"
)
CYBER = (
    _rule(rf"\b{WRITE}(?:\s+me)?{FILLER}\s+{MALWARE}\b"),
    _rule(rf"\b{REQUEST}\s+(?:hack|break|get)\s+(?:into\s+)?{TARGET}\s+(?:\w+\s+)?{ACCOUNT}\b"),
)

# --- drugs --------------------------------------------------------------------------------------------
DRUG = (
    r"(?:meth|methamphetamine|crystal\s+meth|crack\s+cocaine|crack\s+(?:from|out\s+of)\s+(?:coke|cocaine)"
    r"|fentanyl|carfentanil|heroin|lsd|mdma|ecstasy|ghb|dmt|pcp|ketamine|cocaine|krokodil|desomorphine)"
)
DRUGS = (
    _rule(rf"\b{REQUEST}\s+(?:cook|make|synthesi[sz]e|manufacture|produce|brew|extract|press){FILLER}\s+{DRUG}\b"),
)

# --- self-harm ----------------------------------------------------------------------------------------
ENDING = (
    r"(?:kill(?:ing)?\s+(?:myself|me|yourself|oneself)|commit(?:ting)?\s+suicide|end(?:ing)?\s+(?:my|one's)\s+"
    r"(?:own\s+)?life|end(?:ing)?\s+it\s+all|hang(?:ing)?\s+(?:myself|yourself)|slit(?:ting)?\s+(?:my|your)\s+wrists?)"
)
SELF_HARM = (
    _rule(
        r"\b(?:best|easiest|quickest|fastest|surest|painless|most\s+painless|least\s+painful|most\s+effective"
        rf"|most\s+reliable|simplest|cleanest|quietest)\s+(?:way|method|means)s?\s+(?:to|of|for)\s+{ENDING}"
    ),
    _rule(
        r"\b(?:how\s+(?:do|can|could|would|should)\s+i|how\s+to|help\s+me|i\s+(?:want|need|am\s+going)\s+to)\s+"
        rf"{ENDING}\b"
    ),
    _rule(
        r"\bhow\s+many\s+(?:\w+\s+){0,2}(?:pills|tablets|capsules|mg)\b[^.?!\n]{0,40}?\b(?:to|would|will|do\s+i\s+need\s+to)"
        r"\s+(?:\w+\s+){0,2}(?:die|kill\s+(?:me|myself)|not\s+wake\s+up|end\s+(?:my\s+life|it\s+all))\b"
    ),
    _rule(r"\b(?:write|draft|compose|help\s+me\s+(?:write|with))\s+my\s+(?:own\s+)?suicide\s+(?:note|letter)\b"),
)

# --- sexual content involving minors --------------------------------------------------------------
AGE_ANY_MINOR = r"(?:[1-9]|1[0-7])"
AGE_CHILD = r"(?:[1-9]|1[0-3])"
YEARS = r"[- ]?(?:years?|yrs?)[- ]?olds?\b"
MINOR = (
    rf"(?:{AGE_ANY_MINOR}{YEARS}|{AGE_ANY_MINOR}\s?yo\b|child|children|kids?|minors?|underage|under-age|pre-?teens?"
    r"|toddlers?|little\s+(?:girls?|boys?)|school\s?girls?|school\s?boys?|middle[- ]schoolers?|grade[- ]schoolers?"
    r"|(?:first|second|third|fourth|fifth|sixth|seventh|eighth|[1-8](?:st|nd|rd|th))[- ]grade(?:rs?)?|lolis?|shotas?"
    r"|(?:girls?|boys?)\s+(?:in|at)\s+(?:primary|elementary|middle|junior\s+high)\s+school)"
)
CHILD = (
    rf"(?:{AGE_CHILD}{YEARS}|{AGE_CHILD}\s?yo\b|child|kid|toddler|pre-?teen|little\s+(?:girl|boy)"
    r"|(?:first|second|third|fourth|fifth|sixth|seventh|eighth|[1-8](?:st|nd|rd|th))[- ]grader)"
)
SEXUAL = (
    r"(?:erotic\w*|porn\w*|sexy|lewd|nsfw|smut\w*|hentai|horny|orgasm\w*|masturbat\w*|sexting|steamy|seduc\w+"
    r"|sexually\s+explicit|explicit\s+sex\w*|sexual(?!\s+(?:education|health|abuse|assault|harassment|development"
    r"|safety|predators?|exploitation|orientation|identity|violence|offen\w+|misconduct|behaviou?r\s+problems))"
    r"|sex\s+(?:scenes?|story|stories|roleplay|role-play|acts?|fantas\w+|chat|with))"
)
GENERATE = (
    r"(?:write|create|generate|describe|draw|make|produce|compose|imagine|roleplay|role-play|pretend|narrate|continue)"
)
IMAGES = (
    r"(?:porn\w*|nudes?|naked\s+(?:pics?|pictures?|photos?|images?|videos?)"
    r"|sex\s+(?:pics?|photos?|images?|videos?|tapes?))"
)
SEXUAL_MINORS = (
    _rule(rf"\b{GENERATE}\b[^.?!\n]{{0,60}}?\b{SEXUAL}\b[^.?!\n]{{0,60}}?\b{MINOR}"),
    _rule(rf"\b{GENERATE}\b[^.?!\n]{{0,60}}?\b{MINOR}\b[^.?!\n]{{0,60}}?\b{SEXUAL}"),
    _rule(rf"\b(?:have|having|had)\s+sex\s+with\s+(?:a|an|my|the|this|that|young)?\s*{CHILD}"),
    _rule(
        r"\b(?:where\s+(?:can|could|do)\s+i\s+(?:find|get|buy|download|watch|see)|(?:send|give|show|sell|get)\s+me"
        rf"|links?\s+(?:to|for)|websites?\s+(?:with|for|that\s+(?:have|share))|sites?\s+(?:with|for))\s+(?:some\s+)?"
        rf"(?:{MINOR}|cp)\s+{IMAGES}"
    ),
    _rule(rf"\b(?:{MINOR}|underage)\s+{IMAGES}\s+(?:links?|sites?|websites?|download)\b"),
    _rule(
        rf"\b{REQUEST}\s+(?:groom|seduce)\s+(?:a|an|the|my|this|that|young|little)?\s*{MINOR}(?!'s|s'|\s+(?:hair|nails))"
    ),
)

# --- blunt requests to commit a named crime, or for content that promotes a named harm ------------
COMMIT = r"(?:commit|carry\s+out|perpetrate|get\s+away\s+with|pull\s+off|engage\s+in)"
# A named crime or harm followed by one of these is a subject, not a goal ("a fraud investigation").
NOT_GOAL = (
    r"(?![- ](?:simulations?|prevention|investigations?|awareness|drills?|exercises?|mystery|training|risks?"
    r"|assessments?|response|detection|games?|novels?|story|stories|movies?|films?|plots?|scenes?|party|case|trials?|statistics"
    r"|research|reports?|victims?|survivors?|hotlines?|helplines?|polic(?:y|ies)|support|recovery|laws?))"
)
CRIMES: dict[str, str] = {
    "fraud": (
        r"identity\s+theft|(?:credit\s+card|insurance|tax|mail|wire|bank|benefits?|welfare|securities|mortgage|health\s?care"
        r"|investment|accounting|online|charity)\s+fraud|fraud|insider\s+trading|tax\s+evasion|money\s+laundering"
        r"|embezzlement|forgery|counterfeiting|shoplifting|burglary|(?:a\s+)?(?:ponzi|pyramid)\s+scheme|bribery"
        r"|(?:a\s+)?(?:scam|con|heist)|theft|larceny|market\s+manipulation|a\s+phishing\s+(?:attack|scam|campaign)"
    ),
    "violent_crime": (
        r"murder|homicide|assault|(?:an\s+)?armed\s+robbery|(?:a\s+)?robbery|kidnapping|terrorism"
        r"|(?:a\s+)?terror(?:ist)?\s+attack|(?:a\s+)?mass\s+shooting|(?:a\s+)?school\s+shooting|arson|human\s+trafficking"
        r"|sex\s+trafficking|genocide|(?:a\s+)?hit[- ]and[- ]run|(?:a\s+)?carjacking|torture|(?:a\s+)?massacre"
        r"|animal\s+cruelty|(?:a\s+)?hate\s+crime"
        r"|(?:a\s+)?stabbing|(?:a\s+)?bombing|(?:an\s+)?assassination"
    ),
    "cyber_crime": (
        r"(?:a\s+)?cyber\s?attacks?|(?:a\s+)?ddos(?:\s+attacks?)?|(?:a\s+)?denial[- ]of[- ]service\s+attacks?"
        r"|(?:a\s+)?ransomware\s+attacks?|(?:a\s+)?data\s+breach|cyber\s?crime|computer\s+crime|hacking"
    ),
    "harassment": (
        r"cyberbullying|cyber\s?stalking|stalking|harassment|blackmail|extortion|defamation|revenge\s+porn|swatting"
    ),
    "privacy": r"doxx?ing",
    "self_harm": r"suicide|self[- ]harm",
    "misinformation": r"election\s+(?:fraud|manipulation|interference|rigging)|voter\s+(?:fraud|suppression)",
}
HARMS: dict[str, str] = {
    "self_harm": (
        r"self[- ]harm|self[- ]injury|suicide|suicidal\s+behaviou?rs?|cutting|anorexia|bulimia|eating\s+disorders?"
        r"|starvation|pro[- ]ana|extreme\s+fasting"
    ),
    "violent_crime": (
        r"violence(?!\s+(?:prevention|awareness|reduction|survivors?))|terrorism|mass\s+shootings?|school\s+shootings?|murder"
        r"|gang\s+violence|gun\s+violence|genocide|animal\s+cruelty|cruelty\s+to\s+animals|torture|drunk[- ]driving"
        r"|violent\s+extremism|acts?\s+of\s+(?:terrorism|terror|violence)|(?:physical\s+)?harm\s+to\s+others"
    ),
    "hate": (
        r"racism|hate\s+speech|hatred|antisemitism|white\s+supremacy|islamophobia|homophobia|transphobia|misogyny"
        r"|xenophobia|nazism|racial\s+(?:hatred|violence|discrimination)|discrimination\s+against"
    ),
    "drugs": (
        r"(?:illegal\s+|illicit\s+|hard\s+)?drug\s+(?:use|abuse|addiction)|illegal\s+drugs|illicit\s+drugs|heroin|meth"
        r"|(?:the\s+)?use\s+of\s+(?:illegal\s+|illicit\s+|hard\s+)?drugs"
    ),
    "misinformation": (
        r"conspiracy\s+theories|false\s+information|misinformation|disinformation|fake\s+news|propaganda|election\s+denial"
    ),
    "harassment": r"bullying|cyberbullying|harassment|stalking",
}
CRIME_RULES = tuple(
    (
        category,
        _rule(
            rf"\b(?:{REQUEST}|(?:write|create|give|provide|produce|develop|make|offer|draft)\b[^.?!\n]{{0,40}}?\b"
            rf"(?:tutorial|guide|manual|instructions|steps|plan|strategy|walkthrough|blueprint|advice|guidance)\s+"
            rf"(?:on|for|to)(?:\s+how\s+to)?)\s+{COMMIT}{FILLER}\s+(?:{crimes})\b{NOT_GOAL}"
        ),
    )
    for category, crimes in CRIMES.items()
)
PROMOTING = r"(?:promot|encourag|glorif|incit|celebrat|advocat|romanticiz|romanticis|normaliz|normalis|prais)\w*"
AUDIENCE = (
    r"(?:\s+(?:people|users|others|readers|viewers|listeners|players|followers|fans|young\s+people|teens|teenagers"
    r"|children|kids|students|the\s+public))?(?:\s+to)?(?:\s+(?:engage\s+in|commit|try|use|take\s+up|practi[sc]e|adopt"
    r"|join\s+in|embrace))?"
)
ARTIFACT_VERB = (
    r"(?:write|create|design|produce|make|post|publish|develop|generate|compose|draft|build|record|film|share)"
)
NOT_BETWEEN = r"(?:(?!\b(?:not|never|avoid\w*|without|stop\w*|prevent\w*|against|counter\w*|discourag\w*|fight\w*"
NOT_BETWEEN += (
    r"|combat\w*|reduc\w*|end|ending|tackl\w*|oppos\w*|condemn\w*|warn\w*|don't|doesn't|isn't)\b)[^.?!\n]){0,80}?"
)
PROMOTION_RULES = tuple(
    (
        category,
        _rule(rf"\b{ARTIFACT_VERB}\b{NOT_BETWEEN}\b{PROMOTING}{AUDIENCE}\s+(?:{harms})\b{NOT_GOAL}"),
    )
    for category, harms in HARMS.items()
)
TITLE = r"[\"'\u2018\u201c]"
COPYRIGHT = (
    (
        "copyright",
        _rule(
            r"\b(?:give|generate|print|reproduce|write\s+out|type\s+out|paste|output|recite|copy|show|send|provide|list"
            r"|transcribe|share)(?:\s+me|\s+us)?\s+(?:the\s+|all\s+(?:of\s+)?the\s+|every\s+word\s+of\s+the\s+)?"
            rf"(?:full\s+|complete\s+|entire\s+|whole\s+)?(?:song\s+)?(?:lyrics|words)\s+(?:of|to|for|from)\s+(?:the\s+song\s+)?{TITLE}"
        ),
    ),
    (
        "copyright",
        _rule(
            r"\b(?:give|generate|print|reproduce|write\s+out|type\s+out|paste|output|recite|copy|show|send|provide"
            r"|transcribe|share|quote)(?:\s+me|\s+us)?\s+(?:a|an|the)?\s*(?:long|lengthy|entire|full|whole|complete"
            rf"|several|multiple)\s+(?:passages?|chapters?|excerpts?|text|pages|sections?)\s+(?:from|of)\s+(?:the\s+\w+\s+)?{TITLE}"
        ),
    ),
)
STEAL_HACK = (
    (
        "cyber_crime",
        _rule(
            rf"\b{REQUEST}\s+(?:hack|break)\s+into\s+(?!my\s+own|our\s+own|your\s+own)(?:a|an|the|any|someone'?s|other\s+people'?s"
            r"|people'?s|another\s+person'?s|[a-z]+'s)?\s*(?:\w+\s+){0,2}(?:networks?|databases?|systems?|servers?|accounts?"
            r"|computers?|websites?|e-?mails?|phones?|devices?|cameras?|infrastructure|grid)\b"
        ),
    ),
    (
        "cyber_crime",
        _rule(
            rf"\b{REQUEST}\s+steal\s+(?:\w+\s+){{0,3}}?(?:data|information|passwords?|credentials|trade\s+secrets"
            r"|login\s+details|files|records)\b"
        ),
    ),
    (
        "fraud",
        _rule(
            rf"\b{REQUEST}\s+steal\s+(?:a\s+|an\s+|the\s+|some\s+)?(?:someone'?s\s+|other\s+people'?s\s+|people'?s\s+"
            r"|a\s+person'?s\s+)?(?:identit(?:y|ies)|credit\s+cards?|card\s+numbers|money|cash|cars?|vehicles?|bikes?"
            r"|jewell?e?ry|packages|parcels|goods|merchandise|(?:from|out\s+of)\s+(?:a|an|the|my|their|his|her)\b)"
        ),
    ),
    (
        "weapons",
        _rule(
            rf"\b{REQUEST}\s+{MAKE}{FILLER}\s+(?:explosives?|explosive\s+devices?|incendiary\s+devices?"
            r"|weapons?\s+of\s+mass\s+destruction)\b"
        ),
    ),
    (
        "drugs",
        _rule(
            rf"\b{REQUEST}\s+(?:manufacture|synthesi[sz]e|produce|cook|sell|deal|smuggle|traffic|distribute|buy)"
            rf"{FILLER}\s+(?:illegal\s+|illicit\s+|hard\s+)?(?:drugs|narcotics|controlled\s+substances)\b{NOT_GOAL}"
        ),
    ),
)

RULES: tuple[tuple[str, tuple[re.Pattern, ...]], ...] = (
    ("sexual_minors", SEXUAL_MINORS),
    ("cbrn", CBRN),
    ("weapons", WEAPONS),
    ("self_harm", SELF_HARM),
    ("cyber_crime", CYBER),
    ("drugs", DRUGS),
    *((category, (pattern,)) for category, pattern in CRIME_RULES + PROMOTION_RULES + STEAL_HACK + COPYRIGHT),
)

NEGATION = re.compile(
    r"\b(?:can't|cannot|can\s+not|won't|will\s+not|unable|not\s+able|refuse|never|don't|do\s+not|not\s+going\s+to"
    r"|not\s+provide|not\s+help|not\s+share|not\s+explain|not\s+write)\b[^.!?\n]*$",
    re.IGNORECASE,
)
QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})


@dataclass(frozen=True)
class Match:
    category: str
    pattern: str
    text: str


def match(text: str, *, role: str = "user") -> Match | None:
    """The first rule that fires, in the order of RULES (most severe first), or None."""
    normalized = " ".join(text.translate(QUOTES).split())
    for category, patterns in RULES:
        for pattern in patterns:
            for found in pattern.finditer(normalized):
                if role == "assistant" and NEGATION.search(normalized[max(0, found.start() - 80) : found.start()]):
                    continue
                return Match(category=category, pattern=pattern.pattern, text=found.group(0))
    return None


class RulesClassifier:
    """Rules alone: precise, no model, microseconds. Most of what it misses the embedded model finds."""

    name = "rules"

    def classify(self, text: str, *, role: str = "user") -> Verdict:
        found = match(text, role=role)
        if found is None:
            return Verdict(category=None, score=0.0, source=self.name)
        return Verdict(category=found.category, score=1.0, source=self.name)

    def classify_many(self, texts: list[str], *, role: str = "user") -> list[Verdict]:
        return [self.classify(text, role=role) for text in texts]
