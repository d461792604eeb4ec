"""A small rule-based part-of-speech tagger for motion captions (no spaCy here).

HumanML3D writes each caption's tokens as ``word/POS`` with spaCy's ``en_core_web_sm``: lower case,
non-alphabetic tokens dropped, hyphens removed first, nouns and verbs lemmatised (except "left").  This
module reproduces that *format* with closed word lists, a lexicon of motion verbs and suffix rules.  It is
good for the short, regular sentences of motion captions and makes mistakes a statistical tagger would not
(e.g. a verb it does not know that ends in neither -ing nor -ed becomes a NOUN).  Tags are from the
Universal POS set spaCy uses: VERB NOUN ADJ ADV ADP DET PRON AUX NUM CCONJ SCONJ PART.
"""

from __future__ import annotations

import re

CLOSED = {
    "DET": "a an the this that these those some any each every both another either neither no all",
    "PRON": "he she it they him her them his its their theirs himself herself itself themselves someone "
            "somebody something anyone anybody one i me my you your we us our who which what",
    "ADP": "in on at with from into onto towards toward over under around across through of by along behind "
           "beside between above below near against off out about like upon within without past throughout "
           "during inside outside underneath beneath",
    "CCONJ": "and or but nor yet",
    "SCONJ": "while as before after if because until than though although whilst once",
    "AUX": "is are was were be being been has have had does do did can could will would should may might must",
    "NUM": "zero one two three four five six seven eight nine ten eleven twelve twenty hundred",
    "PART": "to not n't",
    "ADV": "then slowly quickly forward forwards backward backwards back up down again away sideways together "
           "twice very also still just almost here there now soon later too really far fast briefly repeatedly "
           "continuously gently carefully suddenly quite rather slightly upward upwards downward downwards "
           "clockwise counterclockwise anticlockwise leftward rightward leftwards rightwards straight first "
           "finally afterwards meanwhile",
    "ADJ": "left right big small slow quick high low other same large little long short full half entire "
           "whole several few many much light heavy wide narrow circular straight happy sad angry tired "
           "front rear upper lower single double",
}
_CLOSED = {w: tag for tag, words in CLOSED.items() for w in words.split()}

# motion verbs (lemma form); inflections are found by the suffix rules below
VERBS = set(
    """walk run jog sprint jump hop skip leap kick punch throw catch wave raise lift lower lean bend squat crouch
    kneel sit stand stroll march dance spin turn rotate twist swing step climb crawl stumble fall trip slide shuffle
    stretch reach grab pick put place push pull carry hold drop shake clap bow nod point touch tap stomp stamp
    balance rock sway bounce dodge duck block strike swim fly pace limp tiptoe sneak hurry rush wander circle
    cross bring move go come make take give get look do start stop begin end continue keep pause rest wait lie
    roll flip tumble pivot wipe scratch rub wash eat drink play perform mimic act pretend imitate gesture flail
    swat fold open close lean brace steady sidestep backstep shadowbox box fight wrestle salute stir pour sweep
    hit slap elbow knee shrug flex pump row paddle ski skate golf bat pitch serve dribble shoot try want
    attempt prepare seem appear use""".split()
)
IRREGULAR = {
    "ran": "run", "running": "run", "sat": "sit", "sitting": "sit", "stood": "stand", "threw": "throw",
    "thrown": "throw", "took": "take", "taken": "take", "went": "go", "gone": "go", "goes": "go", "came": "come",
    "made": "make", "gave": "give", "given": "give", "got": "get", "did": "do", "done": "do", "does": "do",
    "fell": "fall", "fallen": "fall", "flew": "fly", "flies": "fly", "swam": "swim", "swung": "swing",
    "spun": "spin", "leapt": "leap", "held": "hold", "brought": "bring", "caught": "catch", "struck": "strike",
    "began": "begin", "begun": "begin", "hit": "hit", "put": "put", "lay": "lie", "lying": "lie", "lies": "lie",
    "stepped": "step", "hopped": "hop", "skipped": "skip", "stopped": "stop", "dropped": "drop", "clapped": "clap",
    "tapped": "tap", "tripped": "trip", "jogged": "jog", "stomped": "stomp", "getting": "get", "putting": "put",
    "hitting": "hit", "swimming": "swim", "spinning": "spin", "skipping": "skip", "stepping": "step",
    "hopping": "hop", "jogging": "jog", "stopping": "stop", "dropping": "drop", "clapping": "clap",
}
NOUN_IRREGULAR = {"feet": "foot", "people": "person", "men": "man", "women": "woman", "knees": "knee",
                  "children": "child", "teeth": "tooth"}
_WORD = re.compile(r"[a-z]+")


def _verb_lemma(word: str) -> str | None:
    """The lemma if ``word`` is a known motion verb or an inflection of one, else None."""
    if word in IRREGULAR:
        return IRREGULAR[word]
    if word in VERBS:
        return word
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("ing", ""), ("ing", "e"), ("ed", ""), ("ed", "e"),
                         ("d", "")):
        if word.endswith(suffix) and len(word) > len(suffix) + 1:
            stem = word[: -len(suffix)] + repl
            if stem in VERBS:
                return stem
            if suffix in ("ing", "ed") and len(stem) > 2 and stem[-1] == stem[-2] and stem[:-1] in VERBS:
                return stem[:-1]  # doubled consonant: jogging -> jog
    return None


def _noun_lemma(word: str) -> str:
    if word in NOUN_IRREGULAR:
        return NOUN_IRREGULAR[word]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lower-case alphabetic words of a caption, hyphens removed first (``"t-pose"`` -> ``"tpose"``)."""
    return _WORD.findall(text.lower().replace("-", ""))


def tag_caption(text: str) -> tuple[str, ...]:
    """``word/POS`` tokens of a caption in the HumanML3D style (see the module docstring)."""
    words = tokenize(text)
    out = []
    for i, word in enumerate(words):
        prev = words[i - 1] if i else ""
        if word == "left":  # HumanML3D keeps "left" (spaCy would lemmatise the verb to "leave")
            out.append("left/ADJ" if prev not in ("has", "have", "had") else "left/VERB")
            continue
        if word == "to" and i + 1 < len(words) and _verb_lemma(words[i + 1]) is not None:
            out.append("to/PART")
            continue
        if word == "to":
            out.append("to/ADP")
            continue
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if word in ("do", "does", "did", "has", "have", "had") and _CLOSED.get(nxt) in ("DET", "NUM", "ADJ") and nxt != "left":
            out.append(f"{IRREGULAR.get(word, 'have' if word.startswith('ha') else word)}/VERB")  # a main verb
            continue
        if word in _CLOSED and not (word in ("back", "down", "up") and prev in ("the", "his", "her", "their")):
            out.append(f"{word}/{_CLOSED[word]}")
            continue
        lemma = _verb_lemma(word)
        # a motion verb right after a determiner, possessive or preposition is a noun ("a kick", "over boxes")
        noun_context = _CLOSED.get(prev) in ("DET", "ADJ", "NUM") or prev in ("his", "her", "their", "its") or (
            _CLOSED.get(prev) == "ADP" and not word.endswith("ing"))
        if lemma is not None and not noun_context:
            out.append(f"{lemma}/VERB")
        elif lemma is not None:
            out.append(f"{_noun_lemma(word) if lemma != word else word}/NOUN")
        elif word.endswith("ly") and len(word) > 4:
            out.append(f"{word}/ADV")
        elif word.endswith("ing") and len(word) > 5:
            out.append(f"{word[:-3]}/VERB")
        else:
            out.append(f"{_noun_lemma(word)}/NOUN")
    return tuple(out)
