"""Words of the caption grammar: tokens with their universal POS tags and lemmas, verb forms.

Captions are written as HumanML3D writes them (``text#word/POS ...#start#end``): the token field holds one
``word/POS`` per alphabetic word, nouns and verbs lemmatised except the word "left", with spaCy's universal
tags (VERB NOUN DET ADP NUM AUX PRON ADJ ADV PART CCONJ SCONJ).  The grammar knows the tag of every word it
writes, so no tagger is needed and the tags are right by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

# nouns whose written form differs from the lemma
_NOUN_LEMMAS = {
    "hands": "hand", "arms": "arm", "times": "time", "steps": "step", "knees": "knee", "feet": "foot",
    "legs": "leg", "jumps": "jump", "toes": "toe", "jacks": "jack", "punches": "punch", "kicks": "kick",
    "squats": "squat", "lunges": "lunge", "hips": "hip", "circles": "circle", "hops": "hop", "sides": "side",
    "shoulders": "shoulder", "fists": "fist", "waves": "wave", "claps": "clap", "degrees": "degree",
    "stretches": "stretch", "bows": "bow", "turns": "turn", "spins": "spin",
}

# verb lemma -> (third person singular, -ing, past)
_IRREGULAR = {
    "run": ("runs", "running", "ran"), "sit": ("sits", "sitting", "sat"), "kneel": ("kneels", "kneeling", "knelt"),
    "throw": ("throws", "throwing", "threw"), "bend": ("bends", "bending", "bent"), "spin": ("spins", "spinning", "spun"),
    "stand": ("stands", "standing", "stood"), "swing": ("swings", "swinging", "swung"), "get": ("gets", "getting", "got"),
    "hop": ("hops", "hopping", "hopped"), "jog": ("jogs", "jogging", "jogged"), "clap": ("claps", "clapping", "clapped"),
    "step": ("steps", "stepping", "stepped"), "squat": ("squats", "squatting", "squatted"),
    "shuffle": ("shuffles", "shuffling", "shuffled"), "take": ("takes", "taking", "took"), "go": ("goes", "going", "went"),
    "do": ("does", "doing", "did"), "put": ("puts", "putting", "put"), "rise": ("rises", "rising", "rose"),
    "stretch": ("stretches", "stretching", "stretched"), "reach": ("reaches", "reaching", "reached"),
    "punch": ("punches", "punching", "punched"), "march": ("marches", "marching", "marched"),
    "lunge": ("lunges", "lunging", "lunged"), "dance": ("dances", "dancing", "danced"),
    "wave": ("waves", "waving", "waved"), "raise": ("raises", "raising", "raised"), "move": ("moves", "moving", "moved"),
    "lower": ("lowers", "lowering", "lowered"), "bow": ("bows", "bowing", "bowed"), "lean": ("leans", "leaning", "leaned"),
    "crouch": ("crouches", "crouching", "crouched"), "sway": ("sways", "swaying", "swayed"), "lift": ("lifts", "lifting", "lifted"),
    "stop": ("stops", "stopping", "stopped"), "begin": ("begins", "beginning", "began"), "come": ("comes", "coming", "came"),
    "hold": ("holds", "holding", "held"), "pace": ("paces", "pacing", "paced"), "strike": ("strikes", "striking", "struck"),
    "face": ("faces", "facing", "faced"), "pivot": ("pivots", "pivoting", "pivoted"), "box": ("boxes", "boxing", "boxed"),
    "toss": ("tosses", "tossing", "tossed"), "extend": ("extends", "extending", "extended"),
    "hurry": ("hurries", "hurrying", "hurried"), "stride": ("strides", "striding", "strode"),
    "scan": ("scans", "scanning", "scanned"), "drop": ("drops", "dropping", "dropped"),
    "trot": ("trots", "trotting", "trotted"), "wind": ("winds", "winding", "wound"),
}

FORMS = ("3sg", "ing", "past", "base")

# participles written inside phrases ("lifting his knees", "arms raised") -> their lemma
_PARTICIPLES = {
    "curving": "curve", "lifting": "lift", "raising": "raise", "swinging": "swing", "jumping": "jump",
    "standing": "stand", "stretched": "stretch", "raised": "raise", "stepping": "step", "pulling": "pull",
    "seated": "seat",
}


def conjugate(lemma: str, form: str) -> str:
    """A verb form: ``"3sg"`` (walks), ``"ing"`` (walking), ``"past"`` (walked) or ``"base"`` (walk)."""
    if form == "base":
        return lemma
    if lemma in _IRREGULAR:
        return _IRREGULAR[lemma][("3sg", "ing", "past").index(form)]
    if form == "3sg":
        return lemma + ("es" if lemma.endswith(("s", "sh", "ch", "x")) else "s")
    if form == "ing":
        return (lemma[:-1] if lemma.endswith("e") and not lemma.endswith("ee") else lemma) + "ing"
    return lemma + ("d" if lemma.endswith("e") else "ed")


@dataclass(frozen=True)
class Word:
    """One written word: its text, universal POS tag and lemma."""

    text: str
    pos: str
    lemma: str

    @property
    def token(self) -> str:
        """``word/POS`` as HumanML3D writes it: nouns and verbs lemmatised, except "left"."""
        word = self.lemma if self.pos in ("NOUN", "VERB") and self.text != "left" else self.text
        return f"{word}/{self.pos}"


@dataclass(frozen=True)
class Verb:
    """A verb slot, written in whatever form the sentence needs."""

    lemma: str

    def word(self, form: str) -> Word:
        """The verb written in ``form`` (see :func:`conjugate`)."""
        return Word(conjugate(self.lemma, form), "VERB", self.lemma)


Chunk = Word | Verb


def w(text: str, tags: str) -> list[Word]:
    """Words from a phrase and its tags, one tag per word: ``w("to the left", "ADP DET NOUN")``."""
    words, pos = text.split(), tags.split()
    if len(words) != len(pos):
        raise ValueError(f"{text!r} has {len(words)} words but {len(pos)} tags")
    out = []
    for word, tag in zip(words, pos):
        lemma = _NOUN_LEMMAS.get(word, word) if tag == "NOUN" else _PARTICIPLES.get(word, word) if tag == "VERB" else word
        out.append(Word(word, tag, lemma))
    return out


def v(lemma: str) -> list[Verb]:
    """A verb slot as a one-chunk phrase."""
    return [Verb(lemma)]


def P(spec: str, **slots: str) -> list[Chunk]:
    """See :func:`_parse` (results are cached: phrases are immutable)."""
    return list(_parse(spec.format(**slots) if slots else spec))


@lru_cache(maxsize=65536)
def _parse(spec: str) -> tuple[Chunk, ...]:
    """A phrase from a compact spec: space-separated ``word/TAG`` items, ``word/V`` for a verb slot.

    ``{name}`` fields are filled from ``slots`` first, e.g.
    ``P("wave/V with/ADP {poss} {side}/ADJ hand/NOUN", poss="his/PRON", side="left")``.
    """
    out: list[Chunk] = []
    for item in spec.split():
        text, _, tag = item.rpartition("/")
        if not text or not tag:
            raise ValueError(f"bad phrase item {item!r} in {spec!r} (expected word/TAG)")
        if tag == "V":
            out.append(Verb(text))
        elif tag == "PUNCT":
            out.append(Word(text, "PUNCT", text))
        else:
            out.extend(w(text, tag))
    return tuple(out)


def realise(chunks: list[Chunk], form: str) -> list[Word]:
    """Write every verb slot in ``form``."""
    return [c.word(form) if isinstance(c, Verb) else c for c in chunks]


# numbers as HumanML3D writes them (words, not digits: the tokeniser drops digits)
NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}


def times_phrase(count: int, vague: bool = False) -> list[Word]:
    """"once", "twice", "three times", or vaguely "a few times" / "several times"."""
    if vague:
        return w("a few times", "DET ADJ NOUN") if count <= 3 else w("several times", "ADJ NOUN")
    if count == 1:
        return w("once", "ADV")
    if count == 2:
        return w("twice", "ADV")
    return w(f"{NUMBER_WORDS.get(count, 'several')} times", f"{'NUM' if count in NUMBER_WORDS else 'ADJ'} NOUN")


def number(count: int) -> list[Word]:
    """"one", "two", ... as a determiner-like number ("two jumps")."""
    if count == 1:
        return w("one", "NUM")
    return w(NUMBER_WORDS.get(count, "several"), "NUM" if count in NUMBER_WORDS else "ADJ")


# ------------------------------------------------------------------------- building blocks of phrases
Options = list[list[Chunk]]  # the phrases one action may be described by

SLOW = ["slowly/ADV", "at/ADP a/DET slow/ADJ pace/NOUN", "leisurely/ADV"]
FAST = ["quickly/ADV", "fast/ADV", "rapidly/ADV", "at/ADP a/DET fast/ADJ pace/NOUN"]


def speed_words(params: dict, extra_fast: tuple[str, ...] = (), extra_slow: tuple[str, ...] = ()) -> list[str]:
    """Speed adverbials for the params' speed label ("" for a normal speed: not mentioned)."""
    label = params.get("speed", "normal")
    if label == "slow":
        return SLOW + list(extra_slow)
    if label == "fast":
        return FAST + list(extra_fast)
    return [""]


def times_spec(count: int, vague: bool = False) -> str:
    """:func:`times_phrase` as a phrase spec ("three/NUM times/NOUN")."""
    return " ".join(f"{x.text}/{x.pos}" for x in times_phrase(count, vague))


def number_spec(count: int) -> str:
    """:func:`number` as a phrase spec ("two/NUM")."""
    return " ".join(f"{x.text}/{x.pos}" for x in number(count))


def options(specs: list[str], **slots: str) -> Options:
    """Parse phrase specs (see :func:`P`) with the same slots filled in."""
    return [P(" ".join(s.split()), **slots) for s in specs]


def with_speed(bases: list[str], params: dict, **kw) -> list[str]:
    """Each base phrase with each speed adverbial appended (and a one-word -ly adverb also put first)."""
    out = []
    for base in bases:
        for adv in speed_words(params, **kw):
            out.append(f"{base} {adv}".strip())
            if adv.endswith("ly/ADV") and " " not in adv:
                verb, _, rest = base.partition(" ")
                out.append(f"{adv} {verb} {rest}".strip())
    return out


def side_of(params: dict) -> str:
    """The side an action is done with ("left", "right" or "both")."""
    return params.get("side", "left")


def forward_words(params: dict) -> list[str]:
    """Ways of saying "forward"."""
    return ["forward/ADV", "forwards/ADV", "straight/ADV ahead/ADV", "ahead/ADV"]


def hand_words(p: dict, noun: str = "hand") -> list[str]:
    """"his left hand", "the right hand", "both hands", ... (with {poss} left as a slot)."""
    s = side_of(p)
    if s == "both":
        return [f"both/DET {noun}s/NOUN", f"{{poss}} {noun}s/NOUN", f"both/DET of/ADP {{poss}} {noun}s/NOUN"]
    return [f"{{poss}} {s}/ADJ {noun}/NOUN", f"the/DET {s}/ADJ {noun}/NOUN"]


