import pytest

from fairguard.data.builder import build_pairs
from fairguard.data.config import DataConfig
from fairguard.data.cues import Cue, label_cues, opening_words, word_counts


def _rows(n: int, neutral: str, biased: str, guess: str = "") -> list[dict[str, str]]:
    return [{"neutral": neutral, "biased": biased, "guess": guess, "evasive": "cannot tell"}
            for _ in range(n)]


def test_word_counts_count_each_answer_once_and_by_label():
    fair, biased = word_counts(_rows(3, "Fair fair text.", "Obviously bad.", "Probably him."))
    assert fair["fair"] == 3 and fair["text"] == 3
    assert biased["obviously"] == 3 and biased["probably"] == 3
    assert "cannot" not in fair and "cannot" not in biased  # evasive answers carry no label


def test_label_cues_finds_one_sided_words_only():
    rows = _rows(50, "People differ; the context says so.", "People are lazy, obviously.")
    cues = {cue.word: cue for cue in label_cues(rows)}
    assert cues["obviously"] == Cue("obviously", 0, 50) and cues["obviously"].label == "biased"
    assert cues["context"].label == "fair" and cues["context"].share == 1.0
    assert "people" not in cues  # on both sides


def test_label_cues_thresholds():
    rows = _rows(30, "calm words", "angry words") + _rows(2, "angry words", "calm words")
    assert label_cues(rows) == []  # 32 texts each: under the minimum of 40
    found = {cue.word: cue for cue in label_cues(rows, min_texts=10, max_share=0.9)}
    assert set(found) == {"calm", "angry"} and found["calm"].share == pytest.approx(30 / 32)
    assert label_cues(rows, min_texts=10, max_share=0.95) == []


def test_default_build_has_few_cue_words():
    """The generator's framing words ("obviously", "the context says so", ...) occur on both
    sides (docs/data.md, "Cue words"): before the pools were balanced, the default build's
    train split had 76 cue words, "obviously" in 612 biased answers and no fair one."""
    splits, _ = build_pairs(DataConfig())
    cues = label_cues(splits["train"])
    assert len(cues) <= 35
    words = {cue.word for cue in cues}
    assert not words & {"obviously", "probably", "truth", "context", "description",
                        "information", "according", "apply", "expect", "safe", "feel"}
    assert all(cue.texts < 200 for cue in cues)


def test_opening_words_are_the_first_word_of_each_sentence():
    text = 'They moved here. "Those people" are kind! @dan_88 agreed? ^ this. and then'
    assert opening_words(text) == {"they", "those", "dan", "this", "and"}
    fair, biased = word_counts(_rows(3, "They are kind.", "People say so. They lie."),
                               openings=True)
    assert fair["they"] == 3 and biased["they"] == 3 and biased["people"] == 3
    assert "lie" not in biased and "kind" not in fair


def test_default_build_reports_its_opening_cues():
    """Sentence openings that give the label away are counted (docs/data.md, "Cue words"): in
    the seed-0 default build, a sentence opening with "They" is biased in 251 of 264 train
    answers (233 of 236 before the everyday rows answered in a language model's words too).
    Balancing the openings was tried and not kept (docs/judge-runs.md, sixteenth run); this
    keeps the count from growing."""
    splits, _ = build_pairs(DataConfig())
    found = {cue.word: cue for cue in label_cues(splits["train"], openings=True)}
    assert found["they"] == Cue("they", 13, 251) and found["they"].label == "biased"
    assert len(found) <= 7
