"""Self-checks for the exercises of chapter 9 (MotionGPT), and the chat lab.

* :func:`check_motion_codes` -- ``fn(text, n_codes) -> list[int]``: the codes of the first motion written in a
  generated text (``<motion_id_k>`` words between the start word ``<motion_id_K>`` and the end word
  ``<motion_id_K+1>``).
* :func:`check_answer_labels` -- ``fn(prompt_ids, answer_ids) -> (input_ids, labels)``: one decoder-only training
  row whose loss covers the answer only.
* :func:`chat_lab` -- an ipywidgets lab: type an instruction, get text or a motion.

References: :func:`motionlab.generators.motiongpt.vocab.parse_motion` (which also repairs malformed output)
and :func:`motionlab.generators.motiongpt.model.collate_examples`.
"""

from __future__ import annotations

from typing import Callable

from motionlab.labs import call_answer, fail, passed

__all__ = ["check_motion_codes", "check_answer_labels", "chat_lab"]


def _w(k: int) -> str:
    return f"<motion_id_{k}>"


def check_motion_codes(fn: Callable) -> bool:
    """``fn(text, n_codes)`` must return the codes between the first start word and the next end word."""
    name = "motion codes from text"
    K = 16
    cases = [
        ("".join(_w(k) for k in (K, 3, 3, 9, K + 1)), [3, 3, 9], "a plain motion"),
        ("Sure! " + "".join(_w(k) for k in (K, 0, 15, K + 1)) + " Anything else?", [0, 15], "text around it"),
        ("".join(_w(k) for k in (K, 4, K + 1, K, 5, K + 1)), [4], "two motions: the first one"),
        ("".join(_w(k) for k in (2, K, 7, 8, K + 1)), [7, 8], "a code before the start word"),
    ]
    for text, want, what in cases:
        got = call_answer(name, fn, text, K)
        got = [int(v) for v in got]
        if got != want:
            hint = ("codes are the words numbered below n_codes; n_codes is start and n_codes + 1 is end"
                    if any(v >= K for v in got) else "read from the first start word up to the next end word")
            fail(name, f"{what}: got {got}, expected {want}", hint)
    return passed(name)


def check_answer_labels(fn: Callable) -> bool:
    """``fn(prompt_ids, answer_ids)`` must return ``input_ids = prompt + answer`` and ``labels`` equal to the
    answer ids at the answer's positions and -100 (ignored) at the prompt's."""
    name = "answer-only labels"
    for prompt, answer in (([5, 6, 7], [8, 9]), ([1], [2, 3, 4, 5])):
        ids, labels = call_answer(name, fn, list(prompt), list(answer))
        ids, labels = [int(v) for v in ids], [int(v) for v in labels]
        if ids != prompt + answer:
            fail(name, f"input_ids {ids}, expected {prompt + answer}", "the model reads the prompt, then the answer")
        want = [-100] * len(prompt) + answer
        if labels == prompt + answer:
            fail(name, "the prompt's tokens are scored too", "set the labels of the prompt positions to -100")
        if labels != want:
            fail(name, f"labels {labels}, expected {want}",
                 "labels line up with input_ids; the model shifts them by one internally")
    return passed(name)


def chat_lab(pipeline, default: str = "Generate a motion of about 3 seconds: a person jumps"):
    """An ipywidgets lab (needs a running kernel): type any instruction, press *ask*; MotionGPT answers with
    text, or with a motion that plays.  Returns the widget box."""
    import ipywidgets as widgets

    from motionlab.errors import MotionlabError
    from motionlab.viz import animate

    prompt = widgets.Text(value=default, description="instruction", layout=widgets.Layout(width="70%"))
    button = widgets.Button(description="ask", button_style="primary")
    output = widgets.Output()

    def run(_=None):
        with output:
            output.clear_output(wait=True)
            try:
                answer = pipeline.ask(prompt.value)
            except MotionlabError as err:
                print(f"cannot answer: {err}")
                return
            if not answer.is_motion:
                print(answer.text)
                return
            for repair in answer.repairs:
                print(f"repaired: {repair}")
            animate(answer.joints(), skeleton=answer.skeleton, titles=["MotionGPT"], caption=prompt.value).show()

    button.on_click(run)
    return widgets.VBox([widgets.HBox([prompt, button]), output])
