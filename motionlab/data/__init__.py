"""Motion data: skeletons, the HumanML3D feature representation, dataset folders and torch datasets.

    from motionlab.data import joints_to_features, features_to_joints, MotionFolder, Normalizer

``features`` (joints <-> 263/251-d features), ``mirror`` (left/right), ``folders`` (the HumanML3D layout,
captions, statistics, normalisation), ``validation`` (whole-folder checks), ``torch_datasets`` (windows,
text-motion pairs, token sequences) and ``synth`` (MotionLab-Synth).
"""

from motionlab.data.features import (
    FeatureLayout, canonicalize, feature_slices, features_to_joints, foot_contacts, joints_to_features, recover_root,
)
from motionlab.data.folders import (
    Caption, DatasetWarning, Motion, MotionFolder, MotionSplit, Normalizer, compute_stats, format_caption_line,
    parse_caption_line, write_dataset,
)
from motionlab.data.mirror import mirror_caption, mirror_features, mirror_joints
from motionlab.data.skeleton import KIT, SKELETONS, T2M, Skeleton, get_skeleton
from motionlab.data.torch_datasets import (
    TextMotionDataset, TokenDataset, WindowDataset, collate_motion, collate_tokens, lengths_to_mask,
)
from motionlab.data.validation import ValidationReport

__all__ = [
    "FeatureLayout", "canonicalize", "feature_slices", "features_to_joints", "foot_contacts", "joints_to_features",
    "recover_root", "Caption", "DatasetWarning", "Motion", "MotionFolder", "MotionSplit", "Normalizer",
    "compute_stats", "format_caption_line", "parse_caption_line", "write_dataset", "mirror_caption",
    "mirror_features", "mirror_joints", "KIT", "SKELETONS", "T2M", "Skeleton", "get_skeleton", "TextMotionDataset",
    "TokenDataset", "WindowDataset", "collate_motion", "collate_tokens", "lengths_to_mask", "ValidationReport",
]
