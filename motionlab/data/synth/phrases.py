"""What each action is called: verb phrases at three levels of detail.

``phrase_options(action, params, level, poss)`` lists every phrase the grammar may use for one action:

* level 0 names the action only ("waves", "squats down") -- and several actions share vague names
  ("runs" for a jog, "crouches down" for a squat, "bends forward" for a bow);
* level 1 adds the most telling parameter (the side, the direction, or a vague count);
* level 2 adds what else the parameters say: speed, exact counts, heights, styles.

Phrases are written with :func:`~motionlab.data.synth.lexicon.P` (``word/TAG``, ``word/V`` for the verb).
``poss`` is the possessive ("his/PRON", "her/PRON", "their/PRON", "the/DET").
"""

from __future__ import annotations

from typing import Callable

from motionlab.data.synth.lexicon import Chunk, P, number, times_phrase

Options = list[list[Chunk]]

SLOW = ["slowly/ADV", "at/ADP a/DET slow/ADJ pace/NOUN", "leisurely/ADV"]
FAST = ["quickly/ADV", "fast/ADV", "rapidly/ADV", "at/ADP a/DET fast/ADJ pace/NOUN"]


def _speed(params: dict, extra_fast: tuple[str, ...] = (), extra_slow: tuple[str, ...] = ()) -> list[str]:
    """Speed adverbials for the params' speed label ("" for a normal speed: not mentioned)."""
    label = params.get("speed", "normal")
    if label == "slow":
        return SLOW + list(extra_slow)
    if label == "fast":
        return FAST + list(extra_fast)
    return [""]


def _times(count: int, vague: bool = False) -> str:
    return " ".join(f"{x.text}/{x.pos}" for x in times_phrase(count, vague))


def _num(count: int) -> str:
    return " ".join(f"{x.text}/{x.pos}" for x in number(count))


def _opts(specs: list[str], **slots: str) -> Options:
    return [P(" ".join(s.split()), **slots) for s in specs]


def _with_speed(bases: list[str], params: dict, **kw) -> list[str]:
    """Each base phrase with each speed adverbial appended (or prefixed for -ly adverbs, half the time)."""
    out = []
    for base in bases:
        for adv in _speed(params, **kw):
            out.append(f"{base} {adv}".strip())
            if adv.endswith("ly/ADV") and " " not in adv:
                verb, _, rest = base.partition(" ")
                out.append(f"{adv} {verb} {rest}".strip())
    return out


def _side(params: dict) -> str:
    return params.get("side", "left")


def _forward(params: dict) -> list[str]:
    return ["forward/ADV", "forwards/ADV", "straight/ADV ahead/ADV", "ahead/ADV"]


# ------------------------------------------------------------------------------------------ locomotion
def walk(p: dict, level: int, poss: str) -> Options:
    d = p["direction"]
    if level == 0:
        base = ["walk/V"] + (["walk/V forward/ADV", "move/V forward/ADV"] if d == "forward" else [])
    elif d == "forward":
        base = [f"walk/V {x}" for x in _forward(p)] + ["walk/V in/ADP a/DET straight/ADJ line/NOUN"]
    else:
        base = [f"walk/V to/ADP the/DET {d}/NOUN", f"turn/V {d}/ADV and/CCONJ walk/V",
                f"walk/V toward/ADP {poss} {d}/NOUN", f"turn/V to/ADP the/DET {d}/NOUN and/CCONJ walk/V forward/ADV"]
    if level < 2:
        return _opts(base, poss=poss)
    out = _with_speed(base, p, extra_fast=("briskly/ADV",))
    if abs(p["veer"]) > 0.08:
        bend = "left" if p["veer"] > 0 else "right"
        out = [f"{x} curving/VERB slightly/ADV to/ADP the/DET {bend}/NOUN" for x in out[:3]] + out
    return _opts(out, poss=poss)


def jog(p: dict, level: int, poss: str) -> Options:
    if level == 0:
        return _opts(["jog/V", "run/V", "jog/V forward/ADV"])
    base = [f"jog/V {x}" for x in _forward(p)] + ["run/V forward/ADV at/ADP a/DET jogging/NOUN pace/NOUN"]
    return _opts(base if level == 1 else _with_speed(base, p))


def run(p: dict, level: int, poss: str) -> Options:
    if level == 0:
        return _opts(["run/V", "run/V forward/ADV"] + (["sprint/V"] if p["speed"] == "fast" else []))
    base = [f"run/V {x}" for x in _forward(p)]
    if level == 1:
        return _opts(base)
    out = _with_speed(base, p)
    if p["speed"] == "fast":
        out += ["sprint/V forward/ADV", "run/V forward/ADV very/ADV fast/ADV"]
    return _opts(out)


def walk_backwards(p: dict, level: int, poss: str) -> Options:
    if level == 0:
        return _opts(["walk/V backwards/ADV", "move/V backwards/ADV", "step/V back/ADV"])
    base = ["walk/V backwards/ADV", "walk/V backward/ADV", "back/V up/ADP", "walk/V in/ADP reverse/NOUN"]
    if level == 1:
        return _opts(base)
    return _opts(_with_speed(base, p) + ["take/V several/ADJ steps/NOUN backwards/ADV"])


def sidestep(p: dict, level: int, poss: str) -> Options:
    d = p["direction"]
    if level == 0:
        return _opts(["step/V sideways/ADV", "move/V sideways/ADV", "shuffle/V sideways/ADV"])
    base = [f"step/V to/ADP the/DET {d}/NOUN", f"sidestep/V to/ADP the/DET {d}/NOUN",
            f"move/V sideways/ADV to/ADP the/DET {d}/NOUN", f"shuffle/V to/ADP the/DET {d}/NOUN",
            f"take/V side/NOUN steps/NOUN to/ADP {poss} {d}/NOUN"]
    if level == 1:
        return _opts(base, poss=poss)
    out = _with_speed(base, p)
    if p["arms"] == "hip":
        out = [f"{x} with/ADP {{poss}} hands/NOUN on/ADP {{poss}} hips/NOUN" for x in out]
    elif p["arms"] == "side_low":
        out = [f"{x} with/ADP {{poss}} arms/NOUN out/ADV" for x in out]
    return _opts(out, poss=poss)


def walk_circle(p: dict, level: int, poss: str) -> Options:
    base = ["walk/V in/ADP a/DET circle/NOUN", "walk/V around/ADV in/ADP a/DET circle/NOUN",
            "walk/V in/ADP a/DET circular/ADJ path/NOUN"]
    if level == 0:
        return _opts(base)
    if level == 1:
        return _opts(base + ["walk/V in/ADP a/DET full/ADJ circle/NOUN", "circle/V around/ADV"])
    d = p["direction"]
    out = [f"{x} {d}/ADV" for x in base] + [f"walk/V {d}/ADV in/ADP a/DET circle/NOUN"]
    return _opts(_with_speed(out, p))


def turn(p: dict, level: int, poss: str) -> Options:
    d, around = p["direction"], p["amount"] == "around"
    if level == 0:
        return _opts(["turn/V around/ADV", "turn/V back/ADV"] if around else ["turn/V", "turn/V to/ADP the/DET side/NOUN"])
    if level == 1:
        if around:
            return _opts(["turn/V around/ADV", "turn/V around/ADV in/ADP place/NOUN", "turn/V to/PART face/VERB the/DET other/ADJ way/NOUN"])
        return _opts([f"turn/V {d}/ADV", f"turn/V to/ADP the/DET {d}/NOUN", f"turn/V to/ADP {{poss}} {d}/NOUN"], poss=poss)
    if around:
        return _opts([f"turn/V around/ADV to/ADP the/DET {d}/NOUN", f"turn/V all/DET the/DET way/NOUN around/ADV to/ADP {{poss}} {d}/NOUN",
                      f"turn/V around/ADV over/ADP {{poss}} {d}/ADJ shoulder/NOUN"], poss=poss)
    return _opts([f"turn/V ninety/NUM degrees/NOUN to/ADP the/DET {d}/NOUN", f"make/V a/DET quarter/NOUN turn/NOUN to/ADP the/DET {d}/NOUN",
                  f"turn/V {d}/ADV in/ADP place/NOUN"])


def spin(p: dict, level: int, poss: str) -> Options:
    if level == 0:
        return _opts(["spin/V around/ADV", "spin/V", "turn/V around/ADV quickly/ADV"])
    if level == 1:
        return _opts(["spin/V in/ADP a/DET circle/NOUN", "spin/V around/ADV " + _times(p["reps"]),
                      "do/V a/DET full/ADJ spin/NOUN" if p["reps"] == 1 else "spin/V around/ADV " + _times(2)])
    d = p["direction"]
    out = [f"spin/V to/ADP the/DET {d}/NOUN", f"spin/V around/ADV {_times(p['reps'])} to/ADP the/DET {d}/NOUN",
           f"spin/V {_times(p['reps'])} to/ADP {{poss}} {d}/NOUN"]
    if p["arms"] in ("side", "side_low"):
        out = [f"{x} with/ADP {{poss}} arms/NOUN out/ADV" for x in out] + out[:1]
    return _opts(out, poss=poss)


def march_in_place(p: dict, level: int, poss: str) -> Options:
    base = ["march/V in/ADP place/NOUN", "march/V on/ADP the/DET spot/NOUN", "walk/V in/ADP place/NOUN"]
    if level == 0:
        return _opts(base)
    if p["amplitude"] == "high":
        base = [f"{x} lifting/VERB {{poss}} knees/NOUN high/ADV" for x in base[:2]] + [
            f"march/V in/ADP place/NOUN raising/VERB {{poss}} knees/NOUN"]
    return _opts(base if level == 1 else _with_speed(base, p), poss=poss)


def jump_forward(p: dict, level: int, poss: str) -> Options:
    r = p["reps"]
    if level == 0:
        return _opts(["jump/V forward/ADV", "jump/V", "leap/V forward/ADV"])
    base = [f"jump/V forward/ADV {_times(r)}", f"leap/V forward/ADV {_times(r)}"]
    if r > 1:
        base += [f"make/V {_num(r)} jumps/NOUN forward/ADV"]
    if level == 1:
        return _opts(base)
    far = p["amplitude"] == "far"
    out = ([f"jump/V far/ADV forward/ADV {_times(r)}", f"make/V {_num(r) if r > 1 else 'a/DET'} long/ADJ "
            f"{'jumps/NOUN' if r > 1 else 'jump/NOUN'} forward/ADV"] if far else base)
    out += [f"{x} swinging/VERB {{poss}} arms/NOUN" for x in out[:1]]
    return _opts(out, poss=poss)


def jump_in_place(p: dict, level: int, poss: str) -> Options:
    r = p["reps"]
    if level == 0:
        return _opts(["jump/V", "jump/V up/ADV and/CCONJ down/ADV", "jump/V in/ADP place/NOUN"])
    if level == 1:
        return _opts([f"jump/V up/ADV and/CCONJ down/ADV {_times(r, vague=r > 1)}", f"jump/V in/ADP place/NOUN {_times(r, vague=r > 1)}"])
    out = [f"jump/V up/ADV and/CCONJ down/ADV {_times(r)}", f"jump/V in/ADP place/NOUN {_times(r)}",
           f"jump/V on/ADP the/DET spot/NOUN {_times(r)}"]
    if p["amplitude"] == "high":
        out = [f"jump/V high/ADV in/ADP the/DET air/NOUN {_times(r)}", f"jump/V up/ADV high/ADV {_times(r)}"] + out[:1]
    return _opts(out)


def hop(p: dict, level: int, poss: str) -> Options:
    s, r = _side(p), p["reps"]
    if level == 0:
        return _opts(["hop/V", "hop/V on/ADP one/NUM leg/NOUN", "hop/V on/ADP one/NUM foot/NOUN"])
    base = [f"hop/V on/ADP {{poss}} {s}/ADJ foot/NOUN", f"hop/V on/ADP the/DET {s}/ADJ leg/NOUN",
            f"hop/V on/ADP {{poss}} {s}/ADJ leg/NOUN"]
    if level == 1:
        return _opts(base, poss=poss)
    where = "forward/ADV" if p["direction"] == "forward" else "in/ADP place/NOUN"
    out = [f"hop/V {where} on/ADP {{poss}} {s}/ADJ foot/NOUN {_times(r)}", f"hop/V {_times(r)} on/ADP the/DET {s}/ADJ leg/NOUN",
           f"hop/V {where} on/ADP {{poss}} {s}/ADJ leg/NOUN"]
    if p["arms"] == "out":
        out += [f"hop/V on/ADP {{poss}} {s}/ADJ foot/NOUN with/ADP {{poss}} arms/NOUN out/ADV to/ADP the/DET sides/NOUN"]
    return _opts(out, poss=poss)


def jumping_jacks(p: dict, level: int, poss: str) -> Options:
    r = p["reps"]
    base = ["do/V jumping/VERB jacks/NOUN", "perform/V jumping/VERB jacks/NOUN", "do/V star/NOUN jumps/NOUN"]
    if level == 0:
        return _opts(base)
    if level == 1:
        return _opts([f"do/V {_num(r)} jumping/VERB jacks/NOUN", f"do/V jumping/VERB jacks/NOUN {_times(r, vague=True)}"])
    adj = {"slow": "slow/ADJ", "fast": "quick/ADJ"}.get(p["speed"], "")
    return _opts([f"do/V {_num(r)} {adj} jumping/VERB jacks/NOUN", f"perform/V {_num(r)} {adj} jumping/VERB jacks/NOUN"]
                 + [f"{x} jumping/VERB jacks/NOUN" for x in _with_speed([f"do/V {_num(r)}"], p)])


# --------------------------------------------------------------------------------------------- gestures
def _hands(p: dict, noun: str = "hand") -> list[str]:
    """"his left hand", "the right hand", "both hands", ... (with {poss} left as a slot)."""
    s = _side(p)
    if s == "both":
        return [f"both/DET {noun}s/NOUN", f"{{poss}} {noun}s/NOUN", f"both/DET of/ADP {{poss}} {noun}s/NOUN"]
    return [f"{{poss}} {s}/ADJ {noun}/NOUN", f"the/DET {s}/ADJ {noun}/NOUN"]


def wave(p: dict, level: int, poss: str) -> Options:
    if level == 0:
        return _opts(["wave/V", "wave/V hello/INTJ", "wave/V {poss} hand/NOUN" if p["side"] != "both" else "wave/V {poss} hands/NOUN"], poss=poss)
    base = [f"wave/V with/ADP {h}" for h in _hands(p)] + [f"wave/V {h}" for h in _hands(p)[:1]]
    if level == 1:
        return _opts(base, poss=poss)
    out = [f"{x} {_times(p['reps'])}" for x in base[:2]]
    out += [f"{x} above/ADP {{poss}} head/NOUN" if p["height"] == "high" else f"{x} in/ADP front/NOUN of/ADP {{poss}} chest/NOUN"
            for x in base[:2]]
    out += _with_speed(base[:1], p)
    return _opts(out, poss=poss)


def clap(p: dict, level: int, poss: str) -> Options:
    r = p["reps"]
    if level == 0:
        return _opts(["clap/V", "clap/V {poss} hands/NOUN", "clap/V hands/NOUN"], poss=poss)
    if level == 1:
        return _opts([f"clap/V {{poss}} hands/NOUN {_times(r, vague=True)}", f"clap/V {_times(r, vague=True)}"], poss=poss)
    return _opts(_with_speed([f"clap/V {{poss}} hands/NOUN {_times(r)}", f"clap/V {_times(r)}"], p)
                 + [f"clap/V {{poss}} hands/NOUN together/ADV {_times(r)}"], poss=poss)


def punch(p: dict, level: int, poss: str) -> Options:
    r = p["reps"]
    if level == 0:
        return _opts(["punch/V", "throw/V punches/NOUN" if r > 1 else "throw/V a/DET punch/NOUN", "punch/V the/DET air/NOUN", "box/V"])
    fists = _hands(p, "fist") if p["side"] != "both" else ["both/DET fists/NOUN", "{poss} fists/NOUN"]
    base = [f"punch/V with/ADP {f}" for f in fists] + [f"punch/V forward/ADV with/ADP {fists[0]}"]
    if level == 1:
        return _opts(base, poss=poss)
    adj = {"slow": "slow/ADJ ", "fast": "quick/ADJ "}.get(p["speed"], "")
    noun = "punches/NOUN" if r > 1 else "punch/NOUN"
    count = _num(r) if r > 1 else "a/DET"
    out = [f"throw/V {count} {adj}{noun} with/ADP {fists[0]}", f"punch/V {_times(r)} with/ADP {fists[-1]}"]
    if p["stance"]:
        out += ["get/V into/ADP a/DET boxing/NOUN stance/NOUN and/CCONJ punch/V " + _times(r),
                f"step/V into/ADP a/DET fighting/NOUN stance/NOUN and/CCONJ throw/V {count} {noun}"]
    return _opts(out, poss=poss)


def throw(p: dict, level: int, poss: str) -> Options:
    if level == 0:
        return _opts(["throw/V something/PRON", "throw/V a/DET ball/NOUN", "throw/V an/DET object/NOUN"])
    arm = _hands(p) + [f"{{poss}} {_side(p)}/ADJ arm/NOUN"]
    base = [f"throw/V a/DET ball/NOUN with/ADP {a}" for a in arm[:2]] + [f"throw/V something/PRON with/ADP {arm[2]}"]
    if level == 1:
        return _opts(base, poss=poss)
    if p["style"] == "overhand":
        out = [f"throw/V a/DET ball/NOUN overhand/ADV with/ADP {arm[0]}", f"wind/V up/ADP and/CCONJ throw/V something/PRON with/ADP {arm[2]}",
               f"throw/V something/PRON over/ADP {{poss}} shoulder/NOUN with/ADP {arm[1]}"]
    else:
        out = [f"throw/V a/DET ball/NOUN underhand/ADV with/ADP {arm[0]}", f"toss/V something/PRON underhand/ADV with/ADP {arm[2]}"]
    return _opts(out, poss=poss)


def raise_arms(p: dict, level: int, poss: str) -> Options:
    both = p["side"] == "both"
    arms = ["{poss} arms/NOUN", "both/DET arms/NOUN", "{poss} hands/NOUN"] if both else _hands(p, "arm") + _hands(p)[:1]
    if level == 0:
        return _opts(["raise/V " + ("{poss} arms/NOUN" if both else "{poss} hand/NOUN"), "lift/V " + ("{poss} arms/NOUN" if both else "an/DET arm/NOUN"),
                      "put/V {poss} hands/NOUN up/ADP" if both else "put/V a/DET hand/NOUN up/ADP"], poss=poss)
    where = {"overhead": ["above/ADP {poss} head/NOUN", "up/ADV high/ADV", "over/ADP {poss} head/NOUN"],
             "forward": ["forward/ADV", "in/ADP front/NOUN of/ADP {poss} body/NOUN", "straight/ADV out/ADV in/ADP front/NOUN"],
             "sideways": ["out/ADV to/ADP the/DET side/NOUN" if not both else "out/ADV to/ADP the/DET sides/NOUN", "sideways/ADV",
                          "to/ADP shoulder/NOUN height/NOUN"]}[p["style"]]
    base = [f"raise/V {a} {x}" for a in arms[:2] for x in where[:2]] + [f"lift/V {arms[-1]} {where[2]}"]
    if level == 1:
        return _opts(base, poss=poss)
    r = p["reps"]
    out = [f"{x} {_times(r)}" for x in base[:2]] if r > 1 else [f"{x} and/CCONJ hold/V it/PRON there/ADV" if not both
                                                               else f"{x} and/CCONJ hold/V them/PRON there/ADV" for x in base[:2]]
    out += [f"{x} then/ADV lower/V {'them/PRON' if both else 'it/PRON'}" for x in base[:2]]
    return _opts(out, poss=poss)


def reach(p: dict, level: int, poss: str) -> Options:
    d = p["direction"]
    if level == 0:
        return _opts(["reach/V out/ADP", "reach/V for/ADP something/PRON", "reach/V"])
    where = {"forward": ["forward/ADV", "out/ADV in/ADP front/NOUN"], "up": ["up/ADV", "up/ADV high/ADV"],
             "side": ["to/ADP the/DET side/NOUN", "out/ADV to/ADP the/DET side/NOUN"],
             "down": ["down/ADV", "down/ADV toward/ADP the/DET ground/NOUN"]}[d]
    base = [f"reach/V {x}" for x in where]
    if d == "down":
        base += ["bend/V down/ADV to/PART pick/VERB something/PRON up/ADP"]
    if level == 1:
        return _opts(base)
    out = [f"{x} with/ADP {h}" for x in base[:2] for h in _hands(p)[:1]] + [f"reach/V {where[0]} with/ADP {{poss}} {_side(p)}/ADJ arm/NOUN"]
    if p["reps"] > 1:
        out = [f"{x} {_times(p['reps'])}" for x in out]
    return _opts(out, poss=poss)


def stretch(p: dict, level: int, poss: str) -> Options:
    style = p["style"]
    if level == 0:
        return _opts(["stretch/V", "do/V a/DET stretch/NOUN", "stretch/V out/ADP"])
    base = {"up": ["stretch/V {poss} arms/NOUN up/ADV", "stretch/V upward/ADV", "reach/V up/ADV and/CCONJ stretch/V"],
            "side": ["stretch/V to/ADP the/DET side/NOUN", "lean/V from/ADP side/NOUN to/ADP side/NOUN with/ADP {poss} arms/NOUN up/ADV",
                     "stretch/V {poss} sides/NOUN"],
            "forward": ["bend/V forward/ADV to/PART touch/VERB {poss} toes/NOUN", "stretch/V forward/ADV", "bend/V down/ADV and/CCONJ stretch/V"],
            "arms": ["stretch/V {poss} arms/NOUN out/ADP", "stretch/V out/ADP both/DET arms/NOUN", "open/V {poss} arms/NOUN wide/ADV"]}[style]
    if level == 1:
        return _opts(base, poss=poss)
    if style == "side":
        first, second = p["first"], "right" if p["first"] == "left" else "left"
        out = [f"stretch/V to/ADP the/DET {first}/NOUN and/CCONJ then/ADV to/ADP the/DET {second}/NOUN",
               f"lean/V to/ADP the/DET {first}/NOUN and/CCONJ then/ADV to/ADP the/DET {second}/NOUN with/ADP {{poss}} arms/NOUN raised/VERB"]
    elif style == "up":
        out = ["stretch/V {poss} arms/NOUN up/ADV while/SCONJ standing/VERB on/ADP {poss} toes/NOUN",
               "rise/V onto/ADP {poss} toes/NOUN and/CCONJ stretch/V upward/ADV"]
    elif style == "forward":
        out = ["bend/V all/DET the/DET way/NOUN down/ADV to/PART touch/VERB {poss} toes/NOUN", "fold/V forward/ADV to/ADP the/DET floor/NOUN"]
    else:
        out = ["stretch/V {poss} arms/NOUN out/ADV to/ADP the/DET sides/NOUN and/CCONJ back/ADV",
               "open/V {poss} chest/NOUN by/ADP pulling/VERB {poss} arms/NOUN back/ADV"]
    if p["reps"] > 1 and style != "side":
        out = [f"{x} {_times(p['reps'])}" for x in out]
    return _opts(out, poss=poss)


def bow(p: dict, level: int, poss: str) -> Options:
    if level == 0:
        return _opts(["bow/V", "bend/V forward/ADV", "take/V a/DET bow/NOUN"])
    deep = p["amplitude"] == "deep"
    base = (["bow/V deeply/ADV", "bow/V low/ADV", "give/V a/DET deep/ADJ bow/NOUN"] if deep
            else ["bow/V slightly/ADV", "give/V a/DET small/ADJ bow/NOUN", "bow/V {poss} head/NOUN and/CCONJ upper/ADJ body/NOUN"])
    if level == 1:
        return _opts(base, poss=poss)
    out = [f"{x} {_times(p['reps'])}" for x in base[:2]]
    if p["hand"] in ("left", "right"):
        out += [f"bow/V with/ADP {{poss}} {p['hand']}/ADJ hand/NOUN on/ADP {{poss}} chest/NOUN",
                f"put/V {{poss}} {p['hand']}/ADJ hand/NOUN on/ADP {{poss}} chest/NOUN and/CCONJ bow/V"]
    return _opts(out, poss=poss)


def look_around(p: dict, level: int, poss: str) -> Options:
    if level == 0:
        return _opts(["look/V around/ADV", "look/V left/ADV and/CCONJ right/ADV", "glance/V around/ADV"])
    base = ["look/V around/ADV", "turn/V {poss} head/NOUN from/ADP side/NOUN to/ADP side/NOUN", "look/V from/ADP side/NOUN to/ADP side/NOUN"]
    if level == 1:
        return _opts(base, poss=poss)
    first = "left" if p["looks"][0] > 0 else "right"
    second = "right" if first == "left" else "left"
    out = [f"look/V to/ADP the/DET {first}/NOUN and/CCONJ then/ADV to/ADP the/DET {second}/NOUN",
           f"look/V {first}/ADV and/CCONJ {second}/ADV"]
    if p["hands"] == "hips":
        out = [f"{x} with/ADP {{poss}} hands/NOUN on/ADP {{poss}} hips/NOUN" for x in out] + [
            "stand/V with/ADP {poss} hands/NOUN on/ADP {poss} hips/NOUN and/CCONJ look/V around/ADV"]
    return _opts(out, poss=poss)


def dance_sway(p: dict, level: int, poss: str) -> Options:
    if level == 0:
        return _opts(["dance/V", "sway/V", "sway/V side/NOUN to/ADP side/NOUN"])
    base = ["sway/V from/ADP side/NOUN to/ADP side/NOUN", "dance/V from/ADP side/NOUN to/ADP side/NOUN", "dance/V in/ADP place/NOUN"]
    if level == 1:
        return _opts(base)
    arms = {"up": "with/ADP {poss} arms/NOUN up/ADV in/ADP the/DET air/NOUN", "low": "swinging/VERB {poss} arms/NOUN",
            "hips": "with/ADP {poss} hands/NOUN on/ADP {poss} hips/NOUN"}[p["arms"]]
    out = [f"{x} {arms}" for x in _with_speed(base[:2], p)]
    if p["steps"]:
        out += ["dance/V stepping/VERB from/ADP side/NOUN to/ADP side/NOUN", "step/V side/NOUN to/ADP side/NOUN to/ADP a/DET beat/NOUN"]
    return _opts(out, poss=poss)


# ------------------------------------------------------------------------------------------- lower body
def kick(p: dict, level: int, poss: str) -> Options:
    s, r = _side(p), p["reps"]
    if level == 0:
        return _opts(["kick/V", "kick/V something/PRON", "kick/V {poss} leg/NOUN out/ADP"], poss=poss)
    base = [f"kick/V with/ADP {{poss}} {s}/ADJ leg/NOUN", f"kick/V with/ADP the/DET {s}/ADJ foot/NOUN", f"kick/V {{poss}} {s}/ADJ leg/NOUN out/ADP"]
    if level == 1:
        return _opts(base, poss=poss)
    high = "high/ADV " if p["amplitude"] == "high" else ""
    if p["style"] == "front":
        out = [f"kick/V {high}forward/ADV with/ADP {{poss}} {s}/ADJ leg/NOUN {_times(r)}", f"kick/V {high}with/ADP the/DET {s}/ADJ foot/NOUN {_times(r)}"]
    else:
        out = [f"do/V a/DET side/NOUN kick/NOUN with/ADP the/DET {s}/ADJ leg/NOUN" if r == 1 else
               f"do/V {_num(r)} side/NOUN kicks/NOUN with/ADP the/DET {s}/ADJ leg/NOUN",
               f"kick/V {high}out/ADP to/ADP the/DET side/NOUN with/ADP {{poss}} {s}/ADJ leg/NOUN"]
    return _opts(out, poss=poss)


def squat(p: dict, level: int, poss: str) -> Options:
    r = p["reps"]
    if level == 0:
        return _opts(["squat/V", "squat/V down/ADP", "crouch/V down/ADP", "bend/V {poss} knees/NOUN"], poss=poss)
    if level == 1:
        return _opts([f"squat/V down/ADP {_times(r, vague=r > 1)}", f"do/V squats/NOUN" if r > 1 else "do/V a/DET squat/NOUN",
                      "squat/V down/ADP and/CCONJ stand/V back/ADV up/ADP"])
    deep = "deep/ADJ " if p["amplitude"] == "deep" else ""
    count = _num(r) if r > 1 else "a/DET"
    noun = "squats/NOUN" if r > 1 else "squat/NOUN"
    out = [f"do/V {count} {deep}{noun}", *_with_speed([f"squat/V down/ADP {_times(r)}"], p)]
    if p["arms"] == "forward":
        out += [f"squat/V {_times(r)} with/ADP {{poss}} arms/NOUN stretched/VERB out/ADP in/ADP front/NOUN"]
    elif p["arms"] == "hip":
        out += [f"do/V {count} {noun} with/ADP {{poss}} hands/NOUN on/ADP {{poss}} hips/NOUN"]
    return _opts(out, poss=poss)


def lunge(p: dict, level: int, poss: str) -> Options:
    s, r = _side(p), p["reps"]
    if level == 0:
        return _opts(["lunge/V", "lunge/V forward/ADV", "step/V forward/ADV and/CCONJ bend/V {poss} knees/NOUN"], poss=poss)
    base = [f"lunge/V forward/ADV with/ADP {{poss}} {s}/ADJ leg/NOUN", f"step/V forward/ADV into/ADP a/DET lunge/NOUN with/ADP the/DET {s}/ADJ leg/NOUN",
            f"lunge/V with/ADP the/DET {s}/ADJ foot/NOUN forward/ADV"]
    if level == 1:
        return _opts(base, poss=poss)
    count = _num(r) if r > 1 else "a/DET"
    out = [f"do/V {count} {'lunges/NOUN' if r > 1 else 'lunge/NOUN'} with/ADP {{poss}} {s}/ADJ leg/NOUN", f"{base[0]} {_times(r)}"]
    if p["arms"] == "hips":
        out += [f"{base[0]} with/ADP {{poss}} hands/NOUN on/ADP {{poss}} hips/NOUN"]
    return _opts(out, poss=poss)


def kneel(p: dict, level: int, poss: str) -> Options:
    s, stay = _side(p), p["stay"]
    up = "" if stay else " and/CCONJ then/ADV stand/V back/ADV up/ADP"
    up2 = "" if stay else " and/CCONJ get/V back/ADV up/ADP"
    if level == 0:
        return _opts([f"kneel/V down/ADP{up2}", f"get/V down/ADP on/ADP one/NUM knee/NOUN{up}", f"kneel/V{up2}"])
    base = [f"kneel/V on/ADP {{poss}} {s}/ADJ knee/NOUN{up}", f"get/V down/ADP on/ADP {{poss}} {s}/ADJ knee/NOUN{up2}",
            f"go/V down/ADP on/ADP the/DET {s}/ADJ knee/NOUN{up}"]
    if level == 1:
        return _opts(base, poss=poss)
    out = [f"kneel/V on/ADP {{poss}} {s}/ADJ knee/NOUN for/ADP a/DET moment/NOUN{up}"] if not stay else [
        f"kneel/V down/ADP on/ADP {{poss}} {s}/ADJ knee/NOUN and/CCONJ stay/V there/ADV"]
    if p["hand"] == "knee":
        out += [f"kneel/V on/ADP {{poss}} {s}/ADJ knee/NOUN with/ADP a/DET hand/NOUN on/ADP the/DET other/ADJ knee/NOUN{up}"]
    return _opts(out, poss=poss)


def sit_down(p: dict, level: int, poss: str) -> Options:
    stay = p["stay"]
    if level == 0:
        return _opts(["sit/V down/ADP", "take/V a/DET seat/NOUN", "sit/V"] if stay else
                     ["sit/V down/ADP and/CCONJ stand/V up/ADP", "sit/V down/ADP and/CCONJ get/V back/ADV up/ADP", "sit/V and/CCONJ stand/V"])
    if stay:
        base = ["sit/V down/ADP on/ADP a/DET chair/NOUN", "sit/V down/ADP slowly/ADV", "lower/V {poss} body/NOUN onto/ADP a/DET seat/NOUN"]
    else:
        base = ["sit/V down/ADP on/ADP a/DET chair/NOUN and/CCONJ stand/V up/ADP again/ADV",
                "sit/V down/ADP then/ADV get/V up/ADP", "sit/V on/ADP something/PRON and/CCONJ then/ADV rise/V"]
    if level == 1:
        return _opts(base, poss=poss)
    long_ = p["hold"] > 1.8
    if stay:
        out = ["sit/V down/ADP and/CCONJ stay/V seated/VERB", "sit/V down/ADP on/ADP a/DET chair/NOUN and/CCONJ rest/V"]
    else:
        hold = "for/ADP a/DET while/NOUN" if long_ else "briefly/ADV"
        out = [f"sit/V down/ADP {hold} and/CCONJ then/ADV stand/V back/ADV up/ADP", f"sit/V {hold} on/ADP a/DET chair/NOUN before/ADP standing/VERB up/ADP"]
    if p["hands"] == "lap":
        out += ["sit/V down/ADP with/ADP {poss} hands/NOUN on/ADP {poss} knees/NOUN" + ("" if stay else " and/CCONJ then/ADV get/V up/ADP")]
    return _opts(out, poss=poss)


PHRASES: dict[str, Callable[[dict, int, str], Options]] = {
    "walk": walk, "jog": jog, "run": run, "walk_backwards": walk_backwards, "sidestep": sidestep,
    "walk_circle": walk_circle, "turn": turn, "spin": spin, "march_in_place": march_in_place,
    "jump_forward": jump_forward, "jump_in_place": jump_in_place, "hop": hop, "jumping_jacks": jumping_jacks,
    "wave": wave, "clap": clap, "punch": punch, "throw": throw, "raise_arms": raise_arms, "reach": reach,
    "stretch": stretch, "bow": bow, "look_around": look_around, "dance_sway": dance_sway, "kick": kick,
    "squat": squat, "lunge": lunge, "kneel": kneel, "sit_down": sit_down,
}


def phrase_options(action: str, params: dict, level: int, poss: str = "his/PRON") -> Options:
    """Every verb phrase the grammar may use for ``action`` at ``level`` (0, 1, 2)."""
    if level not in (0, 1, 2):
        raise ValueError(f"level must be 0, 1 or 2, got {level}")
    return PHRASES[action](params, level, poss)
