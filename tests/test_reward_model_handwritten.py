from collections import Counter

from fairguard.reward_model.examples import build_examples
from fairguard.reward_model.handwritten import CASES, handwritten_rows


def test_size_and_composition():
    ex = build_examples(handwritten_rows(), ("fairness", "relevance", "fluency"))
    assert 30 <= len(ex) <= 60
    kinds = Counter(ex.kinds)
    assert kinds["neutral"] == kinds["biased"] == len(CASES)
    assert kinds["off_topic"] >= 5 and kinds["corrupted"] >= 5
    assert len({c.category for c in CASES}) >= 6


def test_texts_are_distinct_and_substantial():
    texts = [t for row in handwritten_rows() for t in row.responses.values()]
    assert len(set(texts)) == len(texts)
    assert all(len(t.split()) >= 8 for t in texts)
