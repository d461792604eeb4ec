"""Verb phrases of the upper-body, lower-body and whole-body actions (see :mod:`motionlab.data.synth.phrases`)."""

from __future__ import annotations

from motionlab.data.synth.lexicon import Options, hand_words, number_spec, options, side_of, times_spec, with_speed


# --------------------------------------------------------------------------------------------- gestures
def wave(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.gestures.wave`."""
    if level == 0:
        return options(["wave/V", "wave/V hello/INTJ", "wave/V goodbye/INTJ",
                      "wave/V {poss} hand/NOUN" if p["side"] != "both" else "wave/V {poss} hands/NOUN"], poss=poss)
    base = [f"wave/V with/ADP {h}" for h in hand_words(p)] + [f"wave/V {h}" for h in hand_words(p)[:1]]
    if level == 1:
        return options(base, poss=poss)
    out = [f"{x} {times_spec(p['reps'])}" for x in base[:2]]
    out += [f"{x} above/ADP {{poss}} head/NOUN" if p["height"] == "high" else f"{x} in/ADP front/NOUN of/ADP {{poss}} chest/NOUN"
            for x in base[:2]]
    out += with_speed(base[:1], p, extra_slow=("gently/ADV",), extra_fast=("energetically/ADV",))
    return options(out, poss=poss)


def clap(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.gestures.clap`."""
    r = p["reps"]
    if level == 0:
        return options(["clap/V", "clap/V {poss} hands/NOUN", "clap/V hands/NOUN", "applaud/V"], poss=poss)
    if level == 1:
        return options([f"clap/V {{poss}} hands/NOUN {times_spec(r, vague=True)}", f"clap/V {times_spec(r, vague=True)}"], poss=poss)
    return options(with_speed([f"clap/V {{poss}} hands/NOUN {times_spec(r)}", f"clap/V {times_spec(r)}"], p)
                 + [f"clap/V {{poss}} hands/NOUN together/ADV {times_spec(r)}"], poss=poss)


def punch(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.gestures.punch`."""
    r = p["reps"]
    if level == 0:
        return options(["punch/V", "throw/V punches/NOUN" if r > 1 else "throw/V a/DET punch/NOUN", "punch/V the/DET air/NOUN", "box/V"])
    fists = hand_words(p, "fist") if p["side"] != "both" else ["both/DET fists/NOUN", "{poss} fists/NOUN"]
    base = [f"punch/V with/ADP {f}" for f in fists] + [f"punch/V forward/ADV with/ADP {fists[0]}"]
    if level == 1:
        return options(base, poss=poss)
    adj = {"slow": "slow/ADJ ", "fast": "quick/ADJ "}.get(p["speed"], "")
    noun = "punches/NOUN" if r > 1 else "punch/NOUN"
    count = number_spec(r) if r > 1 else "a/DET"
    out = [f"throw/V {count} {adj}{noun} with/ADP {fists[0]}", f"punch/V {times_spec(r)} with/ADP {fists[-1]}"]
    if p["stance"]:
        out += ["get/V into/ADP a/DET boxing/NOUN stance/NOUN and/CCONJ punch/V " + times_spec(r),
                f"step/V into/ADP a/DET fighting/NOUN stance/NOUN and/CCONJ throw/V {count} {noun}"]
    return options(out, poss=poss)


def throw(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.gestures.throw`."""
    if level == 0:
        return options(["throw/V something/PRON", "throw/V a/DET ball/NOUN", "throw/V an/DET object/NOUN",
                      "toss/V something/PRON"])
    arm = hand_words(p) + [f"{{poss}} {side_of(p)}/ADJ arm/NOUN"]
    base = [f"throw/V a/DET ball/NOUN with/ADP {a}" for a in arm[:2]] + [f"throw/V something/PRON with/ADP {arm[2]}"]
    if level == 1:
        return options(base, poss=poss)
    if p["style"] == "overhand":
        out = [f"throw/V a/DET ball/NOUN overhand/ADV with/ADP {arm[0]}", f"wind/V up/ADP and/CCONJ throw/V something/PRON with/ADP {arm[2]}",
               f"throw/V something/PRON over/ADP {{poss}} shoulder/NOUN with/ADP {arm[1]}"]
    else:
        out = [f"throw/V a/DET ball/NOUN underhand/ADV with/ADP {arm[0]}", f"toss/V something/PRON underhand/ADV with/ADP {arm[2]}"]
    return options(out, poss=poss)


def raise_arms(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.gestures.raise_arms`."""
    both = p["side"] == "both"
    arms = ["{poss} arms/NOUN", "both/DET arms/NOUN", "{poss} hands/NOUN"] if both else hand_words(p, "arm") + hand_words(p)[:1]
    if level == 0:
        return options(["raise/V " + ("{poss} arms/NOUN" if both else "{poss} hand/NOUN"), "lift/V " + ("{poss} arms/NOUN" if both else "an/DET arm/NOUN"),
                      "put/V {poss} hands/NOUN up/ADP" if both else "put/V a/DET hand/NOUN up/ADP"], poss=poss)
    where = {"overhead": ["above/ADP {poss} head/NOUN", "up/ADV high/ADV", "over/ADP {poss} head/NOUN"],
             "forward": ["forward/ADV", "in/ADP front/NOUN of/ADP {poss} body/NOUN", "straight/ADV out/ADV in/ADP front/NOUN"],
             "sideways": ["out/ADV to/ADP the/DET side/NOUN" if not both else "out/ADV to/ADP the/DET sides/NOUN", "sideways/ADV",
                          "to/ADP shoulder/NOUN height/NOUN"]}[p["style"]]
    base = [f"raise/V {a} {x}" for a in arms[:2] for x in where[:2]] + [f"lift/V {arms[-1]} {where[2]}"]
    if level == 1:
        return options(base, poss=poss)
    r = p["reps"]
    out = [f"{x} {times_spec(r)}" for x in base[:2]] if r > 1 else [f"{x} and/CCONJ hold/V it/PRON there/ADV" if not both
                                                               else f"{x} and/CCONJ hold/V them/PRON there/ADV" for x in base[:2]]
    out += [f"{x} then/ADV lower/V {'them/PRON' if both else 'it/PRON'}" for x in base[:2]]
    return options(out, poss=poss)


def reach(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.gestures.reach`."""
    d = p["direction"]
    if level == 0:
        return options(["reach/V out/ADP", "reach/V for/ADP something/PRON", "reach/V", "extend/V an/DET arm/NOUN"])
    where = {"forward": ["forward/ADV", "out/ADV in/ADP front/NOUN"], "up": ["up/ADV", "up/ADV high/ADV"],
             "side": ["to/ADP the/DET side/NOUN", "out/ADV to/ADP the/DET side/NOUN"],
             "down": ["down/ADV", "down/ADV toward/ADP the/DET ground/NOUN"]}[d]
    base = [f"reach/V {x}" for x in where]
    if d == "down":
        base += ["bend/V down/ADV to/PART pick/VERB something/PRON up/ADP"]
    if level == 1:
        return options(base)
    out = [f"{x} with/ADP {h}" for x in base[:2] for h in hand_words(p)[:1]] + [f"reach/V {where[0]} with/ADP {{poss}} {side_of(p)}/ADJ arm/NOUN"]
    if p["reps"] > 1:
        out = [f"{x} {times_spec(p['reps'])}" for x in out]
    return options(out, poss=poss)


def stretch(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.gestures.stretch`."""
    style = p["style"]
    if level == 0:
        return options(["stretch/V", "do/V a/DET stretch/NOUN", "stretch/V out/ADP"])
    base = {"up": ["stretch/V {poss} arms/NOUN up/ADV", "stretch/V upward/ADV", "reach/V up/ADV and/CCONJ stretch/V"],
            "side": ["stretch/V to/ADP the/DET side/NOUN", "lean/V from/ADP side/NOUN to/ADP side/NOUN with/ADP {poss} arms/NOUN up/ADV",
                     "stretch/V {poss} sides/NOUN"],
            "forward": ["bend/V forward/ADV to/PART touch/VERB {poss} toes/NOUN", "stretch/V forward/ADV", "bend/V down/ADV and/CCONJ stretch/V"],
            "arms": ["stretch/V {poss} arms/NOUN out/ADP", "stretch/V out/ADP both/DET arms/NOUN", "open/V {poss} arms/NOUN wide/ADV"]}[style]
    if level == 1:
        return options(base, poss=poss)
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
        out = [f"{x} {times_spec(p['reps'])}" for x in out]
    return options(out, poss=poss)


def bow(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.gestures.bow`."""
    if level == 0:
        return options(["bow/V", "bend/V forward/ADV", "take/V a/DET bow/NOUN"])
    deep = p["amplitude"] == "deep"
    base = (["bow/V deeply/ADV", "bow/V low/ADV", "give/V a/DET deep/ADJ bow/NOUN"] if deep
            else ["bow/V slightly/ADV", "give/V a/DET small/ADJ bow/NOUN", "bow/V {poss} head/NOUN and/CCONJ upper/ADJ body/NOUN"])
    if level == 1:
        return options(base, poss=poss)
    out = [f"{x} {times_spec(p['reps'])}" for x in base[:2]]
    if p["hand"] in ("left", "right"):
        out += [f"bow/V with/ADP {{poss}} {p['hand']}/ADJ hand/NOUN on/ADP {{poss}} chest/NOUN",
                f"put/V {{poss}} {p['hand']}/ADJ hand/NOUN on/ADP {{poss}} chest/NOUN and/CCONJ bow/V"]
    return options(out, poss=poss)


def look_around(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.gestures.look_around`."""
    if level == 0:
        return options(["look/V around/ADV", "look/V left/ADV and/CCONJ right/ADV", "glance/V around/ADV",
                      "scan/V the/DET area/NOUN"])
    base = ["look/V around/ADV", "turn/V {poss} head/NOUN from/ADP side/NOUN to/ADP side/NOUN", "look/V from/ADP side/NOUN to/ADP side/NOUN"]
    if level == 1:
        return options(base, poss=poss)
    first = "left" if p["looks"][0] > 0 else "right"
    second = "right" if first == "left" else "left"
    out = [f"look/V to/ADP the/DET {first}/NOUN and/CCONJ then/ADV to/ADP the/DET {second}/NOUN",
           f"look/V {first}/ADV and/CCONJ {second}/ADV"]
    if p["hands"] == "hips":
        out = [f"{x} with/ADP {{poss}} hands/NOUN on/ADP {{poss}} hips/NOUN" for x in out] + [
            "stand/V with/ADP {poss} hands/NOUN on/ADP {poss} hips/NOUN and/CCONJ look/V around/ADV"]
    return options(out, poss=poss)


def dance_sway(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.gestures.dance_sway`."""
    if level == 0:
        return options(["dance/V", "sway/V", "sway/V side/NOUN to/ADP side/NOUN", "groove/V to/ADP music/NOUN"])
    base = ["sway/V from/ADP side/NOUN to/ADP side/NOUN", "dance/V from/ADP side/NOUN to/ADP side/NOUN", "dance/V in/ADP place/NOUN"]
    if level == 1:
        return options(base)
    arms = {"up": "with/ADP {poss} arms/NOUN up/ADV in/ADP the/DET air/NOUN", "low": "swinging/VERB {poss} arms/NOUN",
            "hips": "with/ADP {poss} hands/NOUN on/ADP {poss} hips/NOUN"}[p["arms"]]
    out = [f"{x} {arms}" for x in with_speed(base[:2], p)]
    if p["steps"]:
        out += ["dance/V stepping/VERB from/ADP side/NOUN to/ADP side/NOUN", "step/V side/NOUN to/ADP side/NOUN to/ADP a/DET beat/NOUN"]
    return options(out, poss=poss)



# ------------------------------------------------------------------------------------------- lower body
def kick(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.postures.kick`."""
    s, r = side_of(p), p["reps"]
    if level == 0:
        return options(["kick/V", "kick/V something/PRON", "kick/V {poss} leg/NOUN out/ADP"], poss=poss)
    base = [f"kick/V with/ADP {{poss}} {s}/ADJ leg/NOUN", f"kick/V with/ADP the/DET {s}/ADJ foot/NOUN", f"kick/V {{poss}} {s}/ADJ leg/NOUN out/ADP"]
    if level == 1:
        return options(base, poss=poss)
    high = "high/ADV " if p["amplitude"] == "high" else ""
    if p["style"] == "front":
        out = [f"kick/V {high}forward/ADV with/ADP {{poss}} {s}/ADJ leg/NOUN {times_spec(r)}", f"kick/V {high}with/ADP the/DET {s}/ADJ foot/NOUN {times_spec(r)}"]
    else:
        out = [f"do/V a/DET side/NOUN kick/NOUN with/ADP the/DET {s}/ADJ leg/NOUN" if r == 1 else
               f"do/V {number_spec(r)} side/NOUN kicks/NOUN with/ADP the/DET {s}/ADJ leg/NOUN",
               f"kick/V {high}out/ADP to/ADP the/DET side/NOUN with/ADP {{poss}} {s}/ADJ leg/NOUN"]
    return options(out, poss=poss)


def squat(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.postures.squat`."""
    r = p["reps"]
    if level == 0:
        return options(["squat/V", "squat/V down/ADP", "crouch/V down/ADP", "bend/V {poss} knees/NOUN",
                      "lower/V {poss} body/NOUN"], poss=poss)
    if level == 1:
        return options([f"squat/V down/ADP {times_spec(r, vague=r > 1)}", "do/V squats/NOUN" if r > 1 else "do/V a/DET squat/NOUN",
                      "squat/V down/ADP and/CCONJ stand/V back/ADV up/ADP"])
    deep = "deep/ADJ " if p["amplitude"] == "deep" else ""
    count = number_spec(r) if r > 1 else "a/DET"
    noun = "squats/NOUN" if r > 1 else "squat/NOUN"
    out = [f"do/V {count} {deep}{noun}", *with_speed([f"squat/V down/ADP {times_spec(r)}"], p)]
    if p["arms"] == "forward":
        out += [f"squat/V {times_spec(r)} with/ADP {{poss}} arms/NOUN stretched/VERB out/ADP in/ADP front/NOUN"]
    elif p["arms"] == "hip":
        out += [f"do/V {count} {noun} with/ADP {{poss}} hands/NOUN on/ADP {{poss}} hips/NOUN"]
    return options(out, poss=poss)


def lunge(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.postures.lunge`."""
    s, r = side_of(p), p["reps"]
    if level == 0:
        return options(["lunge/V", "lunge/V forward/ADV", "step/V forward/ADV and/CCONJ bend/V {poss} knees/NOUN"], poss=poss)
    base = [f"lunge/V forward/ADV with/ADP {{poss}} {s}/ADJ leg/NOUN", f"step/V forward/ADV into/ADP a/DET lunge/NOUN with/ADP the/DET {s}/ADJ leg/NOUN",
            f"lunge/V with/ADP the/DET {s}/ADJ foot/NOUN forward/ADV"]
    if level == 1:
        return options(base, poss=poss)
    count = number_spec(r) if r > 1 else "a/DET"
    out = [f"do/V {count} {'lunges/NOUN' if r > 1 else 'lunge/NOUN'} with/ADP {{poss}} {s}/ADJ leg/NOUN", f"{base[0]} {times_spec(r)}"]
    if p["arms"] == "hips":
        out += [f"{base[0]} with/ADP {{poss}} hands/NOUN on/ADP {{poss}} hips/NOUN"]
    return options(out, poss=poss)


def kneel(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.postures.kneel`."""
    s, stay = side_of(p), p["stay"]
    up = "" if stay else " and/CCONJ then/ADV stand/V back/ADV up/ADP"
    up2 = "" if stay else " and/CCONJ get/V back/ADV up/ADP"
    if level == 0:
        return options([f"kneel/V down/ADP{up2}", f"get/V down/ADP on/ADP one/NUM knee/NOUN{up}", f"kneel/V{up2}",
                      f"drop/V to/ADP one/NUM knee/NOUN{up}"])
    base = [f"kneel/V on/ADP {{poss}} {s}/ADJ knee/NOUN{up}", f"get/V down/ADP on/ADP {{poss}} {s}/ADJ knee/NOUN{up2}",
            f"go/V down/ADP on/ADP the/DET {s}/ADJ knee/NOUN{up}"]
    if level == 1:
        return options(base, poss=poss)
    out = [f"kneel/V on/ADP {{poss}} {s}/ADJ knee/NOUN for/ADP a/DET moment/NOUN{up}"] if not stay else [
        f"kneel/V down/ADP on/ADP {{poss}} {s}/ADJ knee/NOUN and/CCONJ stay/V there/ADV"]
    if p["hand"] == "knee":
        out += [f"kneel/V on/ADP {{poss}} {s}/ADJ knee/NOUN with/ADP a/DET hand/NOUN on/ADP the/DET other/ADJ knee/NOUN{up}"]
    return options(out, poss=poss)


def sit_down(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.postures.sit_down`."""
    stay = p["stay"]
    if level == 0:
        return options(["sit/V down/ADP", "take/V a/DET seat/NOUN", "sit/V"] if stay else
                     ["sit/V down/ADP and/CCONJ stand/V up/ADP", "sit/V down/ADP and/CCONJ get/V back/ADV up/ADP", "sit/V and/CCONJ stand/V"])
    if stay:
        base = ["sit/V down/ADP on/ADP a/DET chair/NOUN", "sit/V down/ADP slowly/ADV", "lower/V {poss} body/NOUN onto/ADP a/DET seat/NOUN"]
    else:
        base = ["sit/V down/ADP on/ADP a/DET chair/NOUN and/CCONJ stand/V up/ADP again/ADV",
                "sit/V down/ADP then/ADV get/V up/ADP", "sit/V on/ADP something/PRON and/CCONJ then/ADV rise/V"]
    if level == 1:
        return options(base, poss=poss)
    long_ = p["hold"] > 1.8
    if stay:
        out = ["sit/V down/ADP and/CCONJ stay/V seated/VERB", "sit/V down/ADP on/ADP a/DET chair/NOUN and/CCONJ rest/V"]
    else:
        hold = "for/ADP a/DET while/NOUN" if long_ else "briefly/ADV"
        out = [f"sit/V down/ADP {hold} and/CCONJ then/ADV stand/V back/ADV up/ADP", f"sit/V {hold} on/ADP a/DET chair/NOUN before/ADP standing/VERB up/ADP"]
    if p["hands"] == "lap":
        out += ["sit/V down/ADP with/ADP {poss} hands/NOUN on/ADP {poss} knees/NOUN" + ("" if stay else " and/CCONJ then/ADV get/V up/ADP")]
    return options(out, poss=poss)


