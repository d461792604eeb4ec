"""Verb phrases of the locomotion actions (see :mod:`motionlab.data.synth.phrases`)."""

from __future__ import annotations

from motionlab.data.synth.lexicon import Options, forward_words, number_spec, options, side_of, times_spec, with_speed


def walk(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.locomotion.walk`."""
    d = p["direction"]
    if level == 0:
        base = ["walk/V"] + (["walk/V forward/ADV", "move/V forward/ADV"] if d == "forward" else [])
    elif d == "forward":
        base = [f"walk/V {x}" for x in forward_words(p)] + ["walk/V in/ADP a/DET straight/ADJ line/NOUN"]
    else:
        base = [f"walk/V to/ADP the/DET {d}/NOUN", f"turn/V {d}/ADV and/CCONJ walk/V",
                f"walk/V toward/ADP {poss} {d}/NOUN", f"turn/V to/ADP the/DET {d}/NOUN and/CCONJ walk/V forward/ADV"]
    if level < 2:
        return options(base, poss=poss)
    out = with_speed(base, p, extra_fast=("briskly/ADV", "hurriedly/ADV"), extra_slow=("casually/ADV", "calmly/ADV"))
    if d == "forward":
        out += {"slow": ["stroll/V forward/ADV", "amble/V forward/ADV slowly/ADV"],
                "fast": ["stride/V forward/ADV quickly/ADV", "hurry/V forward/ADV"],
                "normal": ["walk/V forward/ADV at/ADP a/DET steady/ADJ pace/NOUN", "walk/V steadily/ADV forward/ADV"]}[p["speed"]]
    if abs(p["veer"]) > 0.08:
        bend = "left" if p["veer"] > 0 else "right"
        out = [f"{x} curving/VERB slightly/ADV to/ADP the/DET {bend}/NOUN" for x in out[:3]] + out
    return options(out, poss=poss)


def jog(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.locomotion.jog`."""
    if level == 0:
        return options(["jog/V", "run/V", "jog/V forward/ADV"])
    base = [f"jog/V {x}" for x in forward_words(p)] + ["run/V forward/ADV at/ADP a/DET jogging/NOUN pace/NOUN",
                                                  "trot/V forward/ADV"]
    return options(base if level == 1 else with_speed(base, p, extra_slow=("lightly/ADV",)))


def run(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.locomotion.run`."""
    if level == 0:
        return options(["run/V", "run/V forward/ADV"] + (["sprint/V"] if p["speed"] == "fast" else []))
    base = [f"run/V {x}" for x in forward_words(p)]
    if level == 1:
        return options(base)
    out = with_speed(base, p)
    if p["speed"] == "fast":
        out += ["sprint/V forward/ADV", "run/V forward/ADV very/ADV fast/ADV", "dash/V forward/ADV",
                "race/V ahead/ADV"]
    return options(out)


def walk_backwards(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.locomotion.walk_backwards`."""
    if level == 0:
        return options(["walk/V backwards/ADV", "move/V backwards/ADV", "step/V back/ADV"])
    base = ["walk/V backwards/ADV", "walk/V backward/ADV", "back/V up/ADP", "walk/V in/ADP reverse/NOUN"]
    if level == 1:
        return options(base)
    return options(with_speed(base, p) + ["take/V several/ADJ steps/NOUN backwards/ADV"])


def sidestep(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.locomotion.sidestep`."""
    d = p["direction"]
    if level == 0:
        return options(["step/V sideways/ADV", "move/V sideways/ADV", "shuffle/V sideways/ADV"])
    base = [f"step/V to/ADP the/DET {d}/NOUN", f"sidestep/V to/ADP the/DET {d}/NOUN",
            f"move/V sideways/ADV to/ADP the/DET {d}/NOUN", f"shuffle/V to/ADP the/DET {d}/NOUN",
            f"take/V side/NOUN steps/NOUN to/ADP {poss} {d}/NOUN"]
    if level == 1:
        return options(base, poss=poss)
    out = with_speed(base, p)
    if p["arms"] == "hip":
        out = [f"{x} with/ADP {{poss}} hands/NOUN on/ADP {{poss}} hips/NOUN" for x in out]
    elif p["arms"] == "side_low":
        out = [f"{x} with/ADP {{poss}} arms/NOUN out/ADV" for x in out]
    return options(out, poss=poss)


def walk_circle(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.locomotion.walk_circle`."""
    base = ["walk/V in/ADP a/DET circle/NOUN", "walk/V around/ADV in/ADP a/DET circle/NOUN",
            "walk/V in/ADP a/DET circular/ADJ path/NOUN"]
    if level == 0:
        return options(base)
    if level == 1:
        return options(base + ["walk/V in/ADP a/DET full/ADJ circle/NOUN", "circle/V around/ADV"])
    d = p["direction"]
    out = [f"{x} {d}/ADV" for x in base] + [f"walk/V {d}/ADV in/ADP a/DET circle/NOUN"]
    return options(with_speed(out, p))


def turn(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.locomotion.turn_in_place`."""
    d, around = p["direction"], p["amount"] == "around"
    if level == 0:
        return options(["turn/V around/ADV", "turn/V back/ADV"] if around else ["turn/V", "turn/V to/ADP the/DET side/NOUN"])
    if level == 1:
        if around:
            return options(["turn/V around/ADV", "turn/V around/ADV in/ADP place/NOUN", "turn/V to/PART face/VERB the/DET other/ADJ way/NOUN"])
        return options([f"turn/V {d}/ADV", f"turn/V to/ADP the/DET {d}/NOUN", f"turn/V to/ADP {{poss}} {d}/NOUN",
                      f"pivot/V to/ADP the/DET {d}/NOUN", f"rotate/V to/ADP {{poss}} {d}/NOUN"], poss=poss)
    if around:
        return options([f"turn/V around/ADV to/ADP the/DET {d}/NOUN", f"turn/V all/DET the/DET way/NOUN around/ADV to/ADP {{poss}} {d}/NOUN",
                      f"turn/V around/ADV over/ADP {{poss}} {d}/ADJ shoulder/NOUN"], poss=poss)
    return options([f"turn/V ninety/NUM degrees/NOUN to/ADP the/DET {d}/NOUN", f"make/V a/DET quarter/NOUN turn/NOUN to/ADP the/DET {d}/NOUN",
                  f"turn/V {d}/ADV in/ADP place/NOUN"])


def spin(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.locomotion.spin`."""
    if level == 0:
        return options(["spin/V around/ADV", "spin/V", "turn/V around/ADV quickly/ADV", "twirl/V around/ADV"])
    if level == 1:
        return options(["spin/V in/ADP a/DET circle/NOUN", "spin/V around/ADV " + times_spec(p["reps"]),
                      "do/V a/DET full/ADJ spin/NOUN" if p["reps"] == 1 else "spin/V around/ADV " + times_spec(2)])
    d = p["direction"]
    out = [f"spin/V to/ADP the/DET {d}/NOUN", f"spin/V around/ADV {times_spec(p['reps'])} to/ADP the/DET {d}/NOUN",
           f"spin/V {times_spec(p['reps'])} to/ADP {{poss}} {d}/NOUN"]
    if p["arms"] in ("side", "side_low"):
        out = [f"{x} with/ADP {{poss}} arms/NOUN out/ADV" for x in out] + out[:1]
    return options(out, poss=poss)


def march_in_place(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.locomotion.march_in_place`."""
    base = ["march/V in/ADP place/NOUN", "march/V on/ADP the/DET spot/NOUN", "walk/V in/ADP place/NOUN"]
    if level == 0:
        return options(base)
    if p["amplitude"] == "high":
        base = [f"{x} lifting/VERB {{poss}} knees/NOUN high/ADV" for x in base[:2]] + [
            "march/V in/ADP place/NOUN raising/VERB {poss} knees/NOUN"]
    return options(base if level == 1 else with_speed(base, p), poss=poss)


def jump_forward(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.locomotion.jump_forward`."""
    r = p["reps"]
    if level == 0:
        return options(["jump/V forward/ADV", "jump/V", "leap/V forward/ADV"])
    base = [f"jump/V forward/ADV {times_spec(r)}", f"leap/V forward/ADV {times_spec(r)}"]
    if r > 1:
        base += [f"make/V {number_spec(r)} jumps/NOUN forward/ADV"]
    if level == 1:
        return options(base)
    far = p["amplitude"] == "far"
    out = ([f"jump/V far/ADV forward/ADV {times_spec(r)}", f"make/V {number_spec(r) if r > 1 else 'a/DET'} long/ADJ "
            f"{'jumps/NOUN' if r > 1 else 'jump/NOUN'} forward/ADV"] if far else base)
    out += [f"{x} swinging/VERB {{poss}} arms/NOUN" for x in out[:1]]
    return options(out, poss=poss)


def jump_in_place(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.locomotion.jump_in_place`."""
    r = p["reps"]
    if level == 0:
        return options(["jump/V", "jump/V up/ADV and/CCONJ down/ADV", "jump/V in/ADP place/NOUN"])
    if level == 1:
        return options([f"jump/V up/ADV and/CCONJ down/ADV {times_spec(r, vague=r > 1)}", f"jump/V in/ADP place/NOUN {times_spec(r, vague=r > 1)}"])
    out = [f"jump/V up/ADV and/CCONJ down/ADV {times_spec(r)}", f"jump/V in/ADP place/NOUN {times_spec(r)}",
           f"jump/V on/ADP the/DET spot/NOUN {times_spec(r)}"]
    if p["amplitude"] == "high":
        out = [f"jump/V high/ADV in/ADP the/DET air/NOUN {times_spec(r)}", f"jump/V up/ADV high/ADV {times_spec(r)}"] + out[:1]
    return options(out)


def hop(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.locomotion.hop`."""
    s, r = side_of(p), p["reps"]
    if level == 0:
        return options(["hop/V", "hop/V on/ADP one/NUM leg/NOUN", "hop/V on/ADP one/NUM foot/NOUN",
                      "bounce/V on/ADP one/NUM leg/NOUN"])
    base = [f"hop/V on/ADP {{poss}} {s}/ADJ foot/NOUN", f"hop/V on/ADP the/DET {s}/ADJ leg/NOUN",
            f"hop/V on/ADP {{poss}} {s}/ADJ leg/NOUN"]
    if level == 1:
        return options(base, poss=poss)
    where = "forward/ADV" if p["direction"] == "forward" else "in/ADP place/NOUN"
    out = [f"hop/V {where} on/ADP {{poss}} {s}/ADJ foot/NOUN {times_spec(r)}", f"hop/V {times_spec(r)} on/ADP the/DET {s}/ADJ leg/NOUN",
           f"hop/V {where} on/ADP {{poss}} {s}/ADJ leg/NOUN"]
    if p["arms"] == "out":
        out += [f"hop/V on/ADP {{poss}} {s}/ADJ foot/NOUN with/ADP {{poss}} arms/NOUN out/ADV to/ADP the/DET sides/NOUN"]
    return options(out, poss=poss)


def jumping_jacks(p: dict, level: int, poss: str) -> Options:
    """Phrases for :func:`motionlab.data.synth.locomotion.jumping_jacks`."""
    r = p["reps"]
    base = ["do/V jumping/VERB jacks/NOUN", "perform/V jumping/VERB jacks/NOUN", "do/V star/NOUN jumps/NOUN"]
    if level == 0:
        return options(base)
    if level == 1:
        return options([f"do/V {number_spec(r)} jumping/VERB jacks/NOUN", f"do/V jumping/VERB jacks/NOUN {times_spec(r, vague=True)}"])
    adj = {"slow": "slow/ADJ", "fast": "quick/ADJ"}.get(p["speed"], "")
    return options([f"do/V {number_spec(r)} {adj} jumping/VERB jacks/NOUN", f"perform/V {number_spec(r)} {adj} jumping/VERB jacks/NOUN"]
                 + [f"{x} jumping/VERB jacks/NOUN" for x in with_speed([f"do/V {number_spec(r)}"], p)])


