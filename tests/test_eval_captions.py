"""Caption metrics on small fixtures with hand-computed values, and the evaluator's vocabulary."""

from __future__ import annotations

import math

import pytest

from motionlab.errors import InputError
from motionlab.evaluation import captions as C
from motionlab.text import vocab as V

CANDIDATES = ["A person walks forward.", "someone jumps"]
REFERENCES = [["a person walks forward", "the man walks ahead"], ["a person jumps up high"]]


def test_tokenizer_lowercases_and_drops_punctuation():
    assert C.tokenize_caption("A person, quickly, walks-forward!") == "a person quickly walks forward"
    assert C.tokenize_caption("  don't  STOP ") == "don't stop"
    with pytest.raises(InputError):
        C.tokenize_caption(3)


def test_bleu_hand_computed():
    # clipped n-gram precisions over the corpus: p1 = 5/6, p2 = 3/4, p3 = 2/2, p4 = 1/1;
    # closest reference lengths 4 and 5 against candidate lengths 4 and 2: BP = exp(1 - 9/6)
    b = C.bleu(CANDIDATES, REFERENCES)
    bp = math.exp(1 - 9 / 6)
    assert b["bleu_1"] == pytest.approx(bp * 5 / 6, rel=1e-6)
    assert b["bleu_2"] == pytest.approx(bp * math.sqrt(5 / 6 * 3 / 4), rel=1e-6)
    assert b["bleu_4"] == pytest.approx(bp * (5 / 6 * 3 / 4) ** 0.25, rel=1e-6)


def test_rouge_l_hand_computed():
    # candidate 1 equals a reference: F = 1.  Candidate 2: LCS 1 ("jumps"), P = 1/2, R = 1/5, beta = 1.2
    beta2 = 1.2 ** 2
    f2 = (1 + beta2) * 0.5 * 0.2 / (0.2 + beta2 * 0.5)
    assert C.rouge_l(CANDIDATES, REFERENCES) == pytest.approx((1 + f2) / 2, rel=1e-9)


def test_cider_hand_computed():
    # each n-gram occurs in one image's references: idf = log(2).  An exact 4-word match scores
    # 10 * mean over n = 1..4 of cosine 1 = 10; a 3-word match has no 4-grams: 10 * 3/4; no overlap: 0.
    refs = [["a man walks forward"], ["someone jumps up high"]]
    assert C.cider(["a man walks forward", "a dog barks loudly"], refs) == pytest.approx(5.0)
    short = C.cider(["a man walks", "a dog barks loudly"], [["a man walks"], ["someone jumps up high"]])
    assert short == pytest.approx(3.75)


def test_caption_metric_errors():
    with pytest.raises(InputError, match="2 candidates but 1"):
        C.bleu(CANDIDATES, REFERENCES[:1])
    with pytest.raises(InputError, match="no reference"):
        C.rouge_l(["a"], [[]])
    with pytest.raises(InputError, match="single string"):
        C.cider("a person walks", REFERENCES)


def test_bert_score_minilm():
    same = C.bert_score(["a person walks forward"], [["a person walks forward"]])
    assert same["bert_f1"] == pytest.approx(1.0, abs=1e-5)
    near = C.bert_score(["a man walks ahead"], [["a person walks forward"]])["bert_f1"]
    far = C.bert_score(["the stock market fell sharply"], [["a person walks forward"]])["bert_f1"]
    assert far < near < 1.0
    best_ref = C.bert_score(["a person jumps"], [["the stock market fell", "a person jumps"]])["bert_f1"]
    assert best_ref == pytest.approx(1.0, abs=1e-5)  # the best of several references counts
    all_metrics = C.caption_metrics(CANDIDATES, REFERENCES)
    assert set(all_metrics) == {"bleu_1", "bleu_4", "rouge_l", "cider", "bert_f1"}


# ----------------------------------------------------------------------------------------- vocabulary
class _Cap:
    def __init__(self, text, tokens):
        self.text, self.tokens = text, tokens


def test_pos_categories_and_vip_override():
    assert len(V.POS_CATEGORIES) == 15 and V.POS_CATEGORIES[-1] == "OTHER"
    assert V.pos_category("walk", "VERB") == V.POS_INDEX["Act_VIP"]  # VIP list beats the tag
    assert V.pos_category("left", "ADJ") == V.POS_INDEX["Loc_VIP"]
    assert V.pos_category("person", "NOUN") == V.POS_INDEX["NOUN"]
    assert V.pos_category("to", "PART") == V.OTHER  # tags outside the 9 kept ones


def test_vocabulary_encoding_framing_and_unknowns():
    caps = [_Cap("a person walks left", ("a/DET", "person/NOUN", "walk/VERB", "left/ADV")),
            _Cap("someone runs", ("someone/PRON", "run/VERB"))]
    vocab = V.WordVocabulary.from_captions(caps)
    assert vocab.words[:3] == ["unk", "sos", "eos"] and "walk" in vocab.index
    words, pos = vocab.encode_tokens(("a/DET", "zebra/NOUN", "walk/VERB"))
    assert words == [vocab.index["sos"], vocab.index["a"], vocab.index["unk"], vocab.index["walk"], vocab.index["eos"]]
    assert pos == [V.OTHER, V.POS_INDEX["DET"], V.OTHER, V.POS_INDEX["Act_VIP"], V.OTHER]  # unknown -> OTHER
    long = vocab.encode_tokens(["a/DET"] * 30)[0]
    assert len(long) == V.MAX_TEXT_TOKENS + 2  # cut to 20 words, plus sos/eos
    enc = vocab.encode(caps + ["A person walks"])  # a plain string goes through the surface map
    assert enc.word_ids.shape == (3, 6) and list(enc.lengths) == [6, 4, 5]
    assert enc.word_ids[2, 3] == vocab.index["walk"] and enc.pos_ids[2, 3] == V.POS_INDEX["Act_VIP"]
    assert vocab.tokens_for_text("someone runs") == ("someone/PRON", "run/VERB")
    assert vocab.unknown_rate([_Cap("x", ("zebra/NOUN", "walk/VERB"))]) == 0.5
    again = V.WordVocabulary.from_json(vocab.to_json())
    assert again.words == vocab.words and again.surface == vocab.surface
    with pytest.raises(ValueError, match="special"):
        V.WordVocabulary(words=["walk"])
