"""The language model's answers to the everyday questions: writing the file and reading it back."""

import yaml

from fairguard.data.broad_lexicon import pools
from fairguard.data.everyday_answers import (
    everyday_questions,
    generate_everyday_answers,
    main,
    write_everyday_answers,
)
from fairguard.data.package_yaml import parse_yaml_mapping


def test_questions_are_the_broad_pools_everyday_questions():
    assert everyday_questions() == [q for q, _ in pools()["everyday"]]


def test_generated_answers_round_trip_through_the_file(tmp_path, tiny_causal_lm_dir):
    questions = everyday_questions()[:3]
    answers = generate_everyday_answers(str(tiny_causal_lm_dir), questions, samples=3,
                                        max_new_tokens=5, progress=False)
    assert list(answers) == questions and all(len(a) == 3 for a in answers.values())
    again = generate_everyday_answers(str(tiny_causal_lm_dir), questions, samples=3,
                                      max_new_tokens=5, progress=False)
    assert again == answers  # greedy, then sampled with fixed seeds
    path = tmp_path / "everyday_answers.yaml"
    write_everyday_answers(answers, path, policy="tiny", max_new_tokens=5)
    text = path.read_text()
    assert text.startswith("# Answers that tiny wrote") and "2 sampled" in text
    # read as the package reads it: every value a string, the answers unchanged
    assert parse_yaml_mapping(text, str(path))["answers"] == answers
    assert yaml.safe_load(text)["answers"] == answers


def test_main_writes_the_file(tmp_path, tiny_causal_lm_dir, monkeypatch):
    import fairguard.data.everyday_answers as module

    monkeypatch.setattr(module, "everyday_questions", lambda: ["How do I boil an egg?"])
    out = tmp_path / "answers.yaml"
    main(["--policy", str(tiny_causal_lm_dir), "--out", str(out)])
    answers = yaml.safe_load(out.read_text())["answers"]
    assert list(answers) == ["How do I boil an egg?"] and len(answers["How do I boil an egg?"]) == 4
