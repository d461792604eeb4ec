"""Motion in and out: BVH and glTF export, BVH import (to the HumanML3D joints and a dataset folder).

    from motionlab.io import export_motion, read_bvh, bvh_to_joints, import_bvh_folder, read_gltf

``rig`` (rest offsets and rotations solved from joint positions), ``bvh`` (write / read with checks),
``gltf`` (animated, skinned skeleton; read back), ``mapping`` (BVH joint names -> the 22 t2m joints, JSON
files in ``mappings/``), ``bvh_import`` (units, up axis, resampling, the ``data convert`` path),
``export`` (one entry point for both formats), ``commands`` (the CLI).
"""

from motionlab.io.bvh import BvhError, BvhExport, BvhMotion, read_bvh, write_bvh
from motionlab.io.bvh_import import ImportedBvh, ImportNotice, bvh_to_joints, import_bvh_folder
from motionlab.io.export import Exported, export_motion, motion_joints
from motionlab.io.gltf import GltfExport, GltfMotion, read_gltf, write_gltf
from motionlab.io.mapping import Mapping, load_mapping
from motionlab.io.rig import Rig, fit_rig, rig_forward_kinematics, rotation_features_to_joints, solve_rotations

__all__ = [
    "BvhError", "BvhExport", "BvhMotion", "read_bvh", "write_bvh", "ImportedBvh", "ImportNotice", "bvh_to_joints",
    "import_bvh_folder", "Exported", "export_motion", "motion_joints", "GltfExport", "GltfMotion", "read_gltf",
    "write_gltf", "Mapping", "load_mapping", "Rig", "fit_rig", "rig_forward_kinematics",
    "rotation_features_to_joints", "solve_rotations",
]
