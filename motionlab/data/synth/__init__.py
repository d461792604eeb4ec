"""MotionLab-Synth: a procedural text-motion dataset in the HumanML3D layout.

Motions are animated from joint rotations on the template 22-joint skeleton (gaits with planted feet,
keyframed gestures, jumps with ballistic flights), composed of one to three of the
:data:`~motionlab.data.synth.actions.ACTIONS` primitives, and captioned three times by a grammar at
different levels of detail.  ``build_synth(folder, n_motions, seed)`` writes a complete dataset.

Modules, bottom up: ``rig`` (rest pose, rotations, two-bone IK), ``animation`` (curves, the score),
``solver`` (score -> joints), ``poses`` / ``locomotion`` / ``gestures`` / ``postures`` (the actions),
``actions`` (the registry), ``compose`` (motions of several actions), ``lexicon`` / ``phrases`` /
``captions`` (the grammar), ``quality`` (plausibility measures), ``build`` (the dataset), ``cli``.
"""

from motionlab.data.synth.actions import ACTIONS, Action
from motionlab.data.synth.build import GENERATOR_VERSION, META_FILE, build_synth, make_motion, split_names
from motionlab.data.synth.captions import caption_motion, mirror
from motionlab.data.synth.compose import Plan, Segment, render_plan, sample_plan, single_action_plan
from motionlab.data.synth.phrases import phrase_options

__all__ = [
    "ACTIONS", "Action", "GENERATOR_VERSION", "META_FILE", "Plan", "Segment", "build_synth", "caption_motion",
    "make_motion", "mirror", "phrase_options", "render_plan", "sample_plan", "single_action_plan", "split_names",
]
