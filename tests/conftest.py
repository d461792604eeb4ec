"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, scope="session")
def _quiet_cpu():
    torch.set_num_threads(2)  # CI has 2 cores: avoid oversubscription in the test process


@pytest.fixture
def single_thread():
    """One torch thread for tiny models: they gain nothing from threads, and a busy 2-core machine makes two
    threads many times slower.  Use with ``pytestmark = pytest.mark.usefixtures("single_thread")``."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The project's shared folder (``../shared`` next to the checkout, as in CI)."""
    path = REPO.parent / "shared"
    if not path.is_dir():
        pytest.fail(f"the shared folder is missing: expected {path} (CI clones the repo beside ../shared)")
    return path


@pytest.fixture(scope="session")
def hml3d_sample(shared_dir) -> Path:
    """The real HumanML3D sample: new_joints/012314.npy, new_joint_vecs/012314.npy, Mean.npy, Std.npy."""
    return shared_dir / "fixtures" / "humanml3d_sample"


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """Point the artifact cache and the data root at a fresh temporary folder."""
    monkeypatch.setenv("MOTIONLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MOTIONLAB_DATA", str(tmp_path / "data"))
    return tmp_path


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory, hml3d_sample) -> Path:
    """A 12-motion dataset in the HumanML3D layout, cut from the real sample motion (with mirrors)."""
    from motionlab.data.features import joints_to_features
    from motionlab.data.folders import Caption, Motion, write_dataset

    root = tmp_path_factory.mktemp("tiny_hml3d")
    joints = np.load(hml3d_sample / "new_joints" / "012314.npy").astype(np.float64)
    rng = np.random.default_rng(0)
    motions, names = [], []
    words = ["walk", "turn", "wave", "jump", "kick", "spin"]
    for i in range(12):
        start = int(rng.integers(0, 40))
        length = int(rng.integers(60, joints.shape[0] - start))
        clip = joints[start:start + length]
        name = f"{i:06d}"
        word = words[i % len(words)]
        captions = [
            Caption(text=f"a person starts to {word}", tokens=("a/DET", "person/NOUN", "start/VERB", "to/PART", f"{word}/VERB")),
            Caption(text=f"someone does a {word}", tokens=("someone/PRON", "do/VERB", "a/DET", f"{word}/NOUN")),
        ]
        motions.append(Motion(name=name, features=joints_to_features(clip), captions=captions, joints=None))
        names.append(name)
    splits = {"train": names[:8], "val": names[8:10], "test": names[10:]}
    write_dataset(root, motions, splits, skeleton="t2m")
    return root


class MeanEmbedder:
    """A stand-in evaluator for selection tests: a motion's embedding is its mean over frames of the first
    16 features (enough to rank reconstructions or generations; no training)."""

    def embed_motions(self, features):
        return np.stack([np.asarray(f, dtype=np.float64)[:, :16].mean(0) for f in features])


@pytest.fixture
def mean_embedder() -> MeanEmbedder:
    return MeanEmbedder()


def _fake_embed(texts, encoder="minilm", **_):
    """Stand-in for the sentence encoder: a fixed random 384-d vector per text (no model to load)."""
    import zlib

    return np.stack([np.random.default_rng(zlib.crc32(t.encode())).standard_normal(384) for t in texts]
                    ).astype(np.float16)


@pytest.fixture
def momask_pipe(monkeypatch):
    """A MoMask pipeline of untrained tiny parts (3-layer RVQ of 16 codes, 384-d text, 12 tokens at most), the
    RVQ's codebooks initialised from one batch, and a stand-in sentence encoder."""
    from motionlab.generators.momask.masked_transformer import (
        LengthEstimator,
        LengthEstimatorConfig,
        MaskedTransformer,
        MaskedTransformerConfig,
    )
    from motionlab.generators.momask.pipeline import MoMaskPipeline
    from motionlab.generators.momask.residual_transformer import (
        ResidualTransformer,
        ResidualTransformerConfig,
    )
    from motionlab.tokenizers.vqvae import VQVAE, VQVAEConfig

    monkeypatch.setattr("motionlab.text.encoders.embed_captions", _fake_embed)
    torch.manual_seed(0)
    vq = VQVAE(VQVAEConfig(input_dim=263, width=16, code_dim=8, n_codes=16, depth=2, n_quantizers=3))
    vq.train()(torch.randn(4, 32, 263))  # one pass fills the codebooks, so every layer's codes differ
    masked = MaskedTransformer(MaskedTransformerConfig(n_codes=16, text_dim=384, code_dim=8, width=16,
                                                       n_layers=1, n_heads=2, ff=32, dropout=0.0, max_tokens=12))
    residual = ResidualTransformer(ResidualTransformerConfig(n_codes=16, n_quantizers=3, code_dim=8,
                                                             text_dim=384, width=16, n_layers=1, n_heads=2, ff=32,
                                                             dropout=0.0, max_tokens=12))
    length = LengthEstimator(LengthEstimatorConfig(text_dim=384, hidden=16, n_classes=8))
    return MoMaskPipeline(masked, residual, vq, length, iterations=3, seed=0)
