"""Training glue of the tokenizer: recipes in profiles, window batches, the cache, tokenised splits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motionlab.errors import InputError
from motionlab.tokenizers.artifacts import (
    TokenizedSplit,
    crop_offsets,
    decode_tokens,
    evaluate_reconstruction,
    tokenize_motions,
    tokenize_split,
)
from motionlab.tokenizers.train import (
    WindowBatches,
    cpu_threads,
    get_tokenizer,
    get_tokenizer_run,
    load_window_bank,
)
from motionlab.profiles import get_profile

TINY = get_profile("smoke").tokenizer.replace(steps=8, batch_size=4, width=16, code_dim=8, n_codes=16, log_every=4,
                                               eval_every=4, window=32)


def test_paper_profile_is_the_official_setting():
    recipe = get_profile("paper").tokenizer
    model, train, window = recipe.model, recipe.train, recipe.window
    assert (model.width, model.code_dim, model.n_codes, model.depth, model.down_t) == (512, 512, 512, 3, 2)
    assert (model.quantizer, model.decay, model.reset_threshold) == ("ema_reset", 0.99, 1.0)
    assert (model.recon_loss, model.vel_weight, model.vel_on, model.commit_weight) == ("l1_smooth", 0.5, "ric", 0.02)
    assert (window, train.batch_size, train.lr, train.betas, train.weight_decay) == (64, 256, 2e-4, (0.9, 0.99), 0.0)
    assert (train.warmup_steps, train.steps, train.milestones, train.gamma) == (1000, 300_000, (200_000,), 0.05)


def test_ablation_recipe_and_overrides():
    main = get_profile("smoke").tokenizer
    small = main.for_ablation().replace(recon_loss="l2", n_codes=64)
    assert small.model.width == small.model.code_dim < main.model.width
    assert small.train.steps < main.train.steps and small.train.milestones[0] < small.train.steps
    # the lr decays at the same fraction of the shorter run
    assert small.train.milestones[0] / small.train.steps == pytest.approx(
        main.train.milestones[0] / main.train.steps, abs=0.01)
    assert (small.model.recon_loss, small.model.n_codes, small.ablation) == ("l2", 64, {})
    other = main.replace(lr=1e-2, window=32)
    assert (other.train.lr, other.window, other.model) == (1e-2, 32, main.model)
    with pytest.raises(InputError, match="'n_code' is not a field"):
        main.replace(n_code=3)
    # the cache key ignores what only changes reporting, and nothing else
    assert main.replace(progress=True, log_every=1, cpu_threads=2).key() == main.key()
    assert main.replace(seed=1).key() != main.key() and small.key() != main.key()


def test_window_batches_are_a_function_of_the_step(tiny_dataset):
    from motionlab.data.folders import Normalizer

    norm = Normalizer.from_folder(tiny_dataset)
    with pytest.warns(UserWarning, match="shorter than the 64-frame"):
        load_window_bank(tiny_dataset, "train", 64, Normalizer(norm.mean, norm.std * 1.5))  # fresh key: warns
    bank = load_window_bank(tiny_dataset, "train", 32, norm)
    batches = WindowBatches(bank, 5, seed=3)
    a, b = batches(7), WindowBatches(bank, 5, seed=3)(7)
    assert a.shape == (5, 32, 263) and torch.equal(a, b)
    assert not torch.equal(batches(8), a)
    # every window is a contiguous piece of one normalised motion
    first = bank.frames[bank.starts[0]:bank.starts[0] + bank.lengths[0]]
    window = bank.gather(np.array([0]), np.array([3]))[0]
    assert torch.equal(window, first[3:35])
    assert bank.sliding(4).shape == (4, 32, 263)


def test_get_tokenizer_trains_once_then_loads(tiny_dataset, isolated_cache):
    run = get_tokenizer_run(tiny_dataset, TINY, "cpu")
    assert run.history and run.evals and {"val_l1", "val_usage", "val_perplexity"} <= set(run.evals[-1])
    assert {"loss", "recon", "vel", "commit", "perplexity", "usage", "dead_codes"} <= set(run.history[-1])
    assert run.folder is not None and (run.folder / "model.safetensors").is_file()
    again = get_tokenizer_run(tiny_dataset, TINY, "cpu")
    assert again.folder == run.folder and again.history == run.history
    for (k, v), (k2, v2) in zip(run.model.state_dict().items(), again.model.state_dict().items()):
        assert k == k2 and torch.equal(v.cpu(), v2.cpu())
    assert again.recipe == run.recipe.for_data(tiny_dataset)
    other = get_tokenizer(tiny_dataset, TINY.replace(quantizer="plain"), "cpu")
    assert other.config.quantizer == "plain"  # a variant is its own cache entry
    assert len(list((isolated_cache / "cache" / "tokenizer").glob(f"{tiny_dataset.name}-*"))) == 2
    # the stored normalisation is the evaluator-style one (root and contact std / 5)
    from motionlab.data.folders import Normalizer

    norm = Normalizer.from_folder(tiny_dataset, feat_bias=5.0)
    assert np.allclose(run.model.feature_std.cpu().numpy(), norm.std)

    # tokenise a split: ids per motion, crops to a multiple of 4 at offsets in [0, T mod 4]
    split = tokenize_split(run, tiny_dataset, "train", seed=0)
    from motionlab.data.folders import MotionFolder

    motions = MotionFolder(tiny_dataset).load_split("train")
    assert split.names == motions.names and len(split) == len(motions)
    for ids, feats, off in zip(split.tokens, motions.features, split.offsets):
        assert len(ids) == len(feats) // 4 and 0 <= off <= len(feats) % 4
        assert ids.dtype == np.int64 and ids.min() >= 0 and ids.max() < 16
    cached = tokenize_split(again, tiny_dataset, "train", seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(cached.tokens, split.tokens))
    assert cached.captions[0][0].text == motions.captions[0][0].text
    # the same ids as tokenising directly, and decode gives features of 4 frames per token
    direct = tokenize_motions(run.model, motions.features, split.offsets)
    assert all(np.array_equal(a, b) for a, b in zip(direct, split.tokens))
    decoded = decode_tokens(run.model, split.tokens[:2])
    assert decoded[0].shape == (4 * len(split.tokens[0]), 263)
    metrics = evaluate_reconstruction(run.model, motions.features[:4])
    assert metrics["mpjpe_mm"] > 0 and 0 < metrics["usage"] <= 1 and metrics["perplexity"] >= 1


def test_tokenized_split_round_trip(tmp_path):
    from motionlab.data.folders import Caption

    split = TokenizedSplit(["a", "b"], [np.array([1, 2, 3]), np.array([4])], np.array([0, 2]),
                           [[Caption("walk", ("walk/VERB",))], [Caption("run", ())]], n_codes=8)
    back = TokenizedSplit.load(split.save(tmp_path / "t"))
    assert back.names == ["a", "b"] and [t.tolist() for t in back.tokens] == [[1, 2, 3], [4]]
    assert back.lengths.tolist() == [12, 4] and back.captions[0][0].tokens == ("walk/VERB",)


def test_crop_offsets():
    off = crop_offsets([40, 41, 43, 45], 4, "random", np.random.default_rng(0))
    assert all(0 <= o <= n % 4 for o, n in zip(off, [40, 41, 43, 45]))
    assert crop_offsets([41, 43], 4, "start").tolist() == [0, 0]
    with pytest.raises(InputError, match="crop mode"):
        crop_offsets([4], 4, "middle")
    with pytest.raises(InputError, match="at least 2"):
        evaluate_reconstruction(None, [np.zeros((8, 263))])


def test_cpu_threads_is_temporary():
    before = torch.get_num_threads()
    with cpu_threads(1, torch.device("cpu")):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with cpu_threads(1, torch.device("meta")):  # not the CPU: left alone
        assert torch.get_num_threads() == before


def test_subclips_slice_the_whole_motions_tokens(tiny_dataset, isolated_cache, tmp_path):
    """Official rule: a sub-clip caption gets tokens [start // 4, end // 4) of its whole motion's tokens."""
    import shutil

    from motionlab.data.folders import MotionFolder

    data = tmp_path / "with_subclip"
    shutil.copytree(tiny_dataset, data)
    texts = data / "texts" / "000000.txt"
    texts.write_text(texts.read_text() + "a person waves#a/DET person/NOUN wave/VERB#0.5#2.8\n")
    run = get_tokenizer_run(data, TINY, "cpu")
    cropped = tokenize_split(run, data, "train", subclips="crop")
    sliced = tokenize_split(run, data, "train", subclips="slice")
    assert sliced.names == cropped.names  # every sub-clip keeps at least one token here
    whole = tokenize_motions(run.model, [MotionFolder(data).load_features("000000")])[0]
    entries = [i for i, source in enumerate(sliced.sources) if source == "000000"]
    starts = {sliced.spans[i][0]: i for i in entries}
    assert set(starts) == {0, 10}  # the whole motion and the sub-clip from 0.5 s (frame 10 at 20 fps)
    sub = starts[10]
    start, end = sliced.spans[sub]
    assert np.array_equal(sliced.tokens[sub], whole[start // 4:end // 4])
    assert np.array_equal(sliced.tokens[starts[0]], whole)
    assert sliced.offsets[sub] == (start // 4) * 4 - start
    with pytest.raises(InputError, match="subclips='whole'"):
        tokenize_split(run, data, "train", subclips="whole")



def test_val_fid_selection_keeps_the_best_weights(tiny_dataset, isolated_cache, mean_embedder):
    from motionlab.tokenizers.artifacts import reconstruct_motions
    from motionlab.tokenizers.train import ValidationFID

    recipe = TINY.replace(best_metric="val_fid", best_mode="min", eval_every=2, steps=6)
    with pytest.raises(InputError, match="validation FID"):
        get_tokenizer_run(tiny_dataset, recipe, "cpu")
    run = get_tokenizer_run(tiny_dataset, recipe, "cpu", evaluator=mean_embedder)
    fids = [e["val_fid"] for e in run.evals]
    assert len(fids) == 3 and all(np.isfinite(fids))
    val_fid = ValidationFID(mean_embedder, tiny_dataset)
    kept = val_fid(reconstruct_motions(run.model, val_fid.motions)[0])
    assert kept == pytest.approx(min(fids), rel=1e-4, abs=1e-6)  # the model ends with its best evaluation
    assert recipe.key() != TINY.replace(eval_every=2, steps=6).key()  # selection changes what is cached
