"""glTF 2.0 export of an animated skeleton (``.glb`` binary or ``.gltf`` with the data embedded), via pygltflib.

The file holds one node per joint (rest offsets as translations, the same rig and rotations as the BVH
export, :mod:`motionlab.io.rig`), a skinned mesh of one octahedral "bone" per skeleton bone so that any
viewer has something to draw (three.js / Babylon.js viewers, Blender, Windows 3D Viewer), and one
animation: the root's translation and every joint's rotation per frame, linearly interpolated.  Lengths are
metres, +Y is up, +Z forward (glTF's own conventions, and HumanML3D's).

:func:`read_gltf` reads such a file back (pygltflib for the JSON and buffers, numpy for the arrays, forward
kinematics over the node tree) so that tests and users can check what a viewer will play.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motionlab.data.quaternion import qmul, qrot
from motionlab.data.skeleton import Skeleton, check_joints, get_skeleton
from motionlab.errors import DatasetError, InputError
from motionlab.io.rig import Rig, fit_rig, rig_error, solve_rotations

_FLOAT, _USHORT = 5126, 5123  # glTF component types
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963
_WIDTH = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}
_DTYPE = {5126: np.float32, 5123: np.uint16, 5125: np.uint32, 5121: np.uint8}


@dataclass(frozen=True)
class GltfExport:
    """What :func:`write_gltf` wrote and how closely its skeleton reproduces the input (metres)."""

    path: Path
    frames: int
    fps: float
    rig: Rig
    max_error: float
    mean_error: float


# ------------------------------------------------------------------------------------------ geometry
def bone_mesh(rig: Rig, scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Octahedral bones in the rest pose: vertices ``(V, 3)``, triangle indices ``(F, 3)``, joint of each vertex.

    One octahedron per parent->child bone (and leaf->end site), its vertices bound to the joint whose
    rotation turns that bone (the parent), so the mesh follows the skeleton rigidly.
    """
    rest = rig.rest_positions() * scale  # (J, 3)
    segments = [(p, rest[p], rest[c]) for c, p in enumerate(rig.parents) if p >= 0]
    segments += [(j, rest[j], rest[j] + rig.end_sites[j] * scale) for j in range(len(rest)) if rig.end_sites[j].any()]
    verts, faces, owner = [], [], []
    for joint, head, tail in segments:
        axis = tail - head
        length = float(np.linalg.norm(axis))
        u = axis / length
        helper = np.array([1.0, 0.0, 0.0]) if abs(u[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
        side = np.cross(u, helper)
        side /= np.linalg.norm(side)
        up = np.cross(u, side)
        radius = min(0.1 * length, 0.025)
        waist = head + 0.2 * axis
        ring = [waist + radius * (math.cos(a) * side + math.sin(a) * up) for a in np.arange(4) * math.pi / 2]
        base = len(verts)
        verts += [head, *ring, tail]
        for k in range(4):
            a, b = base + 1 + k, base + 1 + (k + 1) % 4
            faces += [(base, b, a), (a, b, base + 5)]
        owner += [joint] * 6
    return np.array(verts, np.float32), np.array(faces, np.uint16), np.array(owner, np.uint16)


# --------------------------------------------------------------------------------------------- write
class _Blob:
    """Accumulates binary data for one glTF buffer: one buffer view and accessor per array."""

    def __init__(self, gltf):
        self.gltf, self.data = gltf, bytearray()

    def add(self, array: np.ndarray, kind: str, target: int | None = None, bounds: bool = False) -> int:
        import pygltflib

        array = np.ascontiguousarray(array)
        while len(self.data) % 4:  # accessors must be aligned to their component size
            self.data.append(0)
        view = pygltflib.BufferView(buffer=0, byteOffset=len(self.data), byteLength=array.nbytes, target=target)
        self.data += array.tobytes()
        self.gltf.bufferViews.append(view)
        flat = array.reshape(len(array), -1)
        component = _FLOAT if array.dtype == np.float32 else _USHORT
        accessor = pygltflib.Accessor(bufferView=len(self.gltf.bufferViews) - 1, componentType=component,
                                      count=len(array), type=kind)
        if bounds:
            accessor.min, accessor.max = flat.min(0).tolist(), flat.max(0).tolist()
        self.gltf.accessors.append(accessor)
        return len(self.gltf.accessors) - 1


def write_gltf(path: str | Path, joints: np.ndarray, skeleton: str | Skeleton = "t2m", *, fps: float | None = None,
               rig: Rig | None = None) -> GltfExport:
    """Write joint positions ``(T, J, 3)`` (skeleton units) as an animated, skinned skeleton.

    ``.glb`` gives one binary file; ``.gltf`` gives JSON with the buffer embedded as a data URI.
    """
    import pygltflib

    out = Path(path).expanduser()
    if out.suffix.lower() not in (".glb", ".gltf"):
        raise InputError(f"{out}: a glTF file name ends in .glb (binary) or .gltf (JSON)")
    sk = get_skeleton(skeleton)
    pos = check_joints(joints, sk, what="motion", min_frames=1)
    rate = float(fps or sk.fps)
    if not (math.isfinite(rate) and rate > 0):
        raise InputError(f"fps {fps!r}: expected a positive frame rate")
    rig = rig or fit_rig(pos, sk)
    local, root = solve_rotations(pos, rig)  # (T, J, 4) w-first, (T, 3)
    error = rig_error(pos, local, root, rig) / sk.units_per_metre
    scale = 1.0 / sk.units_per_metre  # glTF lengths are metres
    n_frames, n_joints = local.shape[:2]

    gltf = pygltflib.GLTF2(asset=pygltflib.Asset(version="2.0", generator="motionlab"))
    blob = _Blob(gltf)
    children = rig.children
    for j, name in enumerate(rig.names):
        translation = (root[0] * scale if j == 0 else rig.offsets[j] * scale).tolist()
        gltf.nodes.append(pygltflib.Node(name=name, translation=translation, children=list(children[j]) or None))
    verts, faces, owner = bone_mesh(rig, scale)
    weights = np.zeros((len(verts), 4), np.float32)
    weights[:, 0] = 1.0
    joint_ids = np.zeros((len(verts), 4), np.uint16)
    joint_ids[:, 0] = owner
    attributes = pygltflib.Attributes(
        POSITION=blob.add(verts, "VEC3", _ARRAY_BUFFER, bounds=True),
        JOINTS_0=blob.add(joint_ids, "VEC4", _ARRAY_BUFFER),
        WEIGHTS_0=blob.add(weights, "VEC4", _ARRAY_BUFFER),
    )
    indices = blob.add(faces.reshape(-1), "SCALAR", _ELEMENT_ARRAY_BUFFER)
    gltf.materials.append(pygltflib.Material(
        name="bone", doubleSided=True,
        pbrMetallicRoughness=pygltflib.PbrMetallicRoughness(baseColorFactor=[0.26, 0.45, 0.76, 1.0],
                                                            metallicFactor=0.0, roughnessFactor=0.7)))
    gltf.meshes.append(pygltflib.Mesh(name="bones", primitives=[
        pygltflib.Primitive(attributes=attributes, indices=indices, material=0)]))
    # inverse bind matrices: the rest pose has no rotations, so each is a translation by -rest position
    inverse_bind = np.tile(np.eye(4, dtype=np.float32), (n_joints, 1, 1))  # (J, 4, 4)
    inverse_bind[:, :3, 3] = -rig.rest_positions() * scale
    ibm = blob.add(inverse_bind.transpose(0, 2, 1).reshape(n_joints, 16).astype(np.float32), "MAT4")  # column-major
    gltf.skins.append(pygltflib.Skin(name=sk.name, joints=list(range(n_joints)), skeleton=0, inverseBindMatrices=ibm))
    gltf.nodes.append(pygltflib.Node(name="bones", mesh=0, skin=0))
    gltf.scenes.append(pygltflib.Scene(name="motion", nodes=[0, n_joints]))
    gltf.scene = 0

    times = blob.add((np.arange(n_frames) / rate).astype(np.float32), "SCALAR", bounds=True)
    samplers = [pygltflib.AnimationSampler(input=times, output=blob.add((root * scale).astype(np.float32), "VEC3"))]
    channels = [pygltflib.AnimationChannel(sampler=0, target=pygltflib.AnimationChannelTarget(node=0, path="translation"))]
    for j in range(n_joints):
        xyzw = local[:, j][:, [1, 2, 3, 0]].astype(np.float32)  # glTF stores (x, y, z, w)
        samplers.append(pygltflib.AnimationSampler(input=times, output=blob.add(xyzw, "VEC4")))
        channels.append(pygltflib.AnimationChannel(sampler=len(samplers) - 1,
                                                   target=pygltflib.AnimationChannelTarget(node=j, path="rotation")))
    gltf.animations.append(pygltflib.Animation(name="motion", samplers=samplers, channels=channels,
                                               extras={"fps": rate, "frames": n_frames, "skeleton": sk.name}))
    gltf.buffers.append(pygltflib.Buffer(byteLength=len(blob.data)))
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".glb":
        gltf.set_binary_blob(bytes(blob.data))
        gltf.save_binary(str(out))
    else:
        gltf.buffers[0].uri = "data:application/octet-stream;base64," + base64.b64encode(bytes(blob.data)).decode()
        gltf.save_json(str(out))
    return GltfExport(out, n_frames, rate, rig, float(error.max()), float(error.mean()))


# ---------------------------------------------------------------------------------------------- read
@dataclass(frozen=True)
class GltfMotion:
    """The first skin and animation of a glTF file: joint names, parents, key times and joint positions."""

    path: Path
    names: tuple[str, ...]
    parents: tuple[int, ...]  # within the skin's joints; -1 for a root
    times: np.ndarray  # (T,) seconds
    positions: np.ndarray  # (T, J, 3) global joint positions, metres

    @property
    def n_frames(self) -> int:
        return len(self.times)


def _buffer_bytes(gltf, path: Path) -> bytes:
    blob = gltf.binary_blob()
    if blob is not None:
        return blob
    uri = gltf.buffers[0].uri or ""
    if uri.startswith("data:"):
        return base64.b64decode(uri.split(",", 1)[1])
    return (path.parent / uri).read_bytes()


def _accessor(gltf, data: bytes, index: int) -> np.ndarray:
    acc = gltf.accessors[index]
    view = gltf.bufferViews[acc.bufferView]
    width = _WIDTH[acc.type]
    if view.byteStride not in (None, 0, width * np.dtype(_DTYPE[acc.componentType]).itemsize):
        raise DatasetError(f"accessor {index}: interleaved buffer views are not supported")
    arr = np.frombuffer(data, _DTYPE[acc.componentType], acc.count * width, (view.byteOffset or 0) + (acc.byteOffset or 0))
    return arr.reshape(acc.count, width)


def read_gltf(path: str | Path) -> GltfMotion:
    """Read the skeleton animation of a glTF/GLB file (tightly packed buffers, as :func:`write_gltf` writes)."""
    import pygltflib

    path = Path(path).expanduser()
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    try:
        gltf = pygltflib.GLTF2().load(str(path))
    except Exception as err:
        raise DatasetError(f"{path}: not a readable glTF file ({type(err).__name__}: {err})") from None
    if gltf is None or not gltf.skins or not gltf.animations:
        raise DatasetError(f"{path}: holds no skinned, animated skeleton")
    data = _buffer_bytes(gltf, path)
    skin_nodes = list(gltf.skins[0].joints)
    node_parent = {c: i for i, n in enumerate(gltf.nodes) for c in (n.children or [])}
    parents = tuple(skin_nodes.index(node_parent[n]) if node_parent.get(n) in skin_nodes else -1 for n in skin_nodes)
    anim = gltf.animations[0]
    times = _accessor(gltf, data, anim.samplers[0].input)[:, 0].astype(np.float64)
    n_frames = len(times)
    trans = {j: np.tile(np.array(gltf.nodes[n].translation or [0.0, 0.0, 0.0]), (n_frames, 1))
             for j, n in enumerate(skin_nodes)}
    rots = {j: np.tile(np.array(gltf.nodes[n].rotation or [0.0, 0.0, 0.0, 1.0])[[3, 0, 1, 2]], (n_frames, 1))
            for j, n in enumerate(skin_nodes)}
    for channel in anim.channels:
        if channel.target.node not in skin_nodes:
            continue
        j = skin_nodes.index(channel.target.node)
        values = _accessor(gltf, data, anim.samplers[channel.sampler].output).astype(np.float64)
        if channel.target.path == "translation":
            trans[j] = values
        elif channel.target.path == "rotation":
            rots[j] = values[:, [3, 0, 1, 2]]  # back to (w, x, y, z)
    glob_rot: dict[int, np.ndarray] = {}
    glob_pos: dict[int, np.ndarray] = {}
    order = sorted(range(len(skin_nodes)), key=lambda j: _depth(j, parents))
    for j in order:  # parents before children
        p = parents[j]
        if p < 0:
            glob_rot[j], glob_pos[j] = rots[j], trans[j]
        else:
            glob_pos[j] = glob_pos[p] + qrot(glob_rot[p], trans[j])
            glob_rot[j] = qmul(glob_rot[p], rots[j])
    names = tuple(gltf.nodes[n].name or f"node{n}" for n in skin_nodes)
    positions = np.stack([glob_pos[j] for j in range(len(skin_nodes))], axis=1)  # (T, J, 3)
    return GltfMotion(path, names, parents, times, positions)


def _depth(j: int, parents: tuple[int, ...]) -> int:
    depth = 0
    while parents[j] >= 0:
        j, depth = parents[j], depth + 1
    return depth
