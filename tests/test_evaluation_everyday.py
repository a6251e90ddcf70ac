"""``fairguard eval everyday``: the question set, the flag bookkeeping and the run end to end.

The runs use the tiny random causal LM and a tiny random reward model: their answers and scores
mean nothing; the wiring, the outputs and the flags against the thresholds are what is checked.
"""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from onnx_export_data import tiny_reward_dir, write_metadata

from fairguard.cli import cli
from fairguard.data.broad_lexicon import broad_groups, pools
from fairguard.errors import ArtifactError, ConfigError, DataError
from fairguard.evaluation.everyday import (
    ANSWERS_FILE,
    REPORT_FILE,
    TARGET_MIN_N,
    EverydayEvalConfig,
    flag_summary,
    head_flags,
    load_everyday_questions,
    parse_everyday_questions,
    run_everyday_eval,
    target_check,
)
from fairguard.generation import DecodingConfig, generate_responses, load_policy
from fairguard.registry import get_reward

# Words and phrases that name a social group, beyond the broad pools' own group names.
GROUP_WORDS = (
    "women", "woman", "men", "man", "girl", "girls", "boy", "boys", "ladies", "lady", "guys",
    "muslim", "muslims", "islam", "islamic", "christian", "christians", "jew", "jews", "jewish",
    "hindu", "hindus", "sikh", "sikhs", "buddhist", "buddhists", "atheist", "atheists",
    "gay", "gays", "lesbian", "lesbians", "bisexual", "trans", "transgender", "queer", "lgbt",
    "lgbtq", "black", "white", "asian", "asians", "latino", "latinos", "latina", "hispanic",
    "arab", "arabs", "african", "africans", "immigrant", "immigrants", "migrant", "migrants",
    "refugee", "refugees", "foreigner", "foreigners", "disabled", "disability", "elderly",
    "pensioner", "pensioners", "teenager", "teenagers", "kids", "children", "mother", "mothers",
    "father", "fathers", "mom", "moms", "dad", "dads", "wife", "husband", "race", "racial",
    "ethnic", "ethnicity", "religion", "religious", "nationality", "gender", "sexuality",
    "tribe", "caste", "old people", "young people", "poor people", "rich people",
)


def normalise(text: str) -> str:
    """Lower case, punctuation and spacing dropped: "What's X?" == "whats x"."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower().replace("'", "")))


def group_terms() -> set[str]:
    terms = {normalise(w) for w in GROUP_WORDS}
    for group in broad_groups():
        terms.update(normalise(p) for p in group.plurals)
        terms.add(normalise(group.adj))
    return terms


def names_a_group(question: str, terms: set[str]) -> list[str]:
    text = f" {normalise(question)} "
    return sorted(t for t in terms if f" {t} " in text)


@pytest.fixture(scope="module")
def reward_dir(tmp_path_factory):
    return tiny_reward_dir(tmp_path_factory.mktemp("everyday-rm"))


def read_answers(folder):
    return [json.loads(line) for line in (folder / ANSWERS_FILE).read_text().splitlines()]


def set_thresholds(source, dest, thresholds):
    shutil.copytree(source, dest)
    meta = json.loads((dest / "fairguard.json").read_text())
    meta["thresholds"] = thresholds
    (dest / "fairguard.json").write_text(json.dumps(meta))
    return dest


def run(policy, reward_model, out, limit=6, **options):
    config = EverydayEvalConfig(reward_model=str(reward_model), out=str(out), policy=str(policy),
                                limit=limit, max_new_tokens=4, **options)
    return run_everyday_eval(config, progress=False)


# ---------------------------------------------------------------- the question set


def test_question_set_is_large_unique_and_spread_over_topics():
    questions = load_everyday_questions().questions
    assert len(questions) >= 220
    assert len({q.id for q in questions}) == len(questions)
    assert len({normalise(q.question) for q in questions}) == len(questions)
    topics = {q.topic for q in questions}
    assert len(topics) >= 12
    assert {"cooking", "science", "travel", "work", "health", "code", "money"} <= topics
    assert all(q.question.endswith("?") for q in questions)


def test_no_question_is_in_the_reward_models_training_pool():
    training = {normalise(question) for question, _answer in pools()["everyday"]}
    assert len(training) >= 50  # the pool is where we think it is
    shared = [q.question for q in load_everyday_questions().questions
              if normalise(q.question) in training]
    assert shared == []


def test_no_question_names_a_social_group():
    terms = group_terms()
    found = {q.question: names_a_group(q.question, terms)
             for q in load_everyday_questions().questions}
    assert {q: words for q, words in found.items() if words} == {}


def test_the_group_check_catches_groups():
    terms = group_terms()
    assert names_a_group("What do Muslims eat for breakfast?", terms) == ["muslims"]
    assert "immigrants" in names_a_group("Why do immigrants move to cities?", terms)
    assert "women" in names_a_group("Are women good at maths?", terms)
    assert "black people" in names_a_group("What do Black people cook?", terms)
    assert names_a_group("How do I read a menu in a restaurant?", terms) == []  # "men" in "menu"


@pytest.mark.parametrize("text, message", [
    ("- a\n- b\n", "map each topic"),
    ("cooking: []\n", "non-empty list"),
    ("cooking:\n  - How?\n  - ''\n", "question 2 of topic 'cooking'"),
    ("cooking:\n  - How?\n  - [x: y\n", "not valid YAML"),
])
def test_parse_rejects_malformed_files(text, message):
    with pytest.raises(DataError, match=re.escape(message)):
        parse_everyday_questions(text, "q.yaml")


def test_parse_numbers_questions_per_topic():
    parsed = parse_everyday_questions("cooking:\n  - ' How? '\n  - Why?\nmaths:\n  - What?\n",
                                      "q.yaml")
    assert [(q.id, q.topic, q.question) for q in parsed.questions] == [
        ("cooking-01", "cooking", "How?"), ("cooking-02", "cooking", "Why?"),
        ("maths-01", "maths", "What?")]
    assert len(parsed.sha256) == 64


# ---------------------------------------------------------------- flags


def test_flag_summary_counts_each_head_against_its_own_threshold():
    scores = {"fairness": np.array([0.1, 0.6, 0.9, 0.95]),
              "relevance": np.array([0.9, 0.2, 0.9, 0.9]),
              "fluency": np.array([0.5, 0.5, 0.5, 0.1])}
    thresholds = {"fairness": 0.5, "relevance": 0.3, "fluency": 0.4}
    s = flag_summary(scores, thresholds)
    assert s["n"] == 4
    assert s["flag_rate"] == {"fairness": 0.25, "relevance": 0.25, "fluency": 0.25}
    assert s["flag_rate_fairness"] == 0.25 and s["n_flagged_fairness"] == 1
    assert s["flag_rate_any"] == 0.75 and s["n_flagged_any"] == 3
    assert s["means"]["fairness"] == pytest.approx(0.6375)
    # a score equal to the threshold passes
    assert not head_flags({"fairness": np.array([0.5])}, {"fairness": 0.5})["fairness"][0]
    with pytest.raises(ConfigError, match="no threshold for head"):
        head_flags({"fairness": np.array([0.5]), "tone": np.array([0.5])}, {"fairness": 0.5})


def test_target_check_needs_enough_questions():
    summary = {"n": TARGET_MIN_N, "flag_rate_fairness": 0.02, "flag_rate_any": 0.10}
    assert target_check(summary)["met"] is True
    assert target_check({**summary, "flag_rate_fairness": 0.021})["met"] is False
    assert target_check({**summary, "flag_rate_any": 0.11})["met"] is False
    assert target_check({**summary, "n": TARGET_MIN_N - 1})["met"] is None


def test_config_checks():
    with pytest.raises(ConfigError, match="limit"):
        EverydayEvalConfig(reward_model="rm", out="o", limit=0)
    with pytest.raises(ConfigError, match="max_new_tokens"):
        EverydayEvalConfig(reward_model="rm", out="o", max_new_tokens=0)
    with pytest.raises(ConfigError, match="reward-model is empty"):
        EverydayEvalConfig(reward_model=" ", out="o")
    config = EverydayEvalConfig(reward_model="rm", out="o")
    assert config.policy == "smollm2-135m-instruct"
    assert config.generation().max_new_tokens == 64 and not config.generation().do_sample


# ---------------------------------------------------------------- runs on tiny models


def test_run_answers_with_the_policy_and_scores_with_the_reward_plugin(
        tmp_path, tiny_causal_lm_dir, reward_dir):
    out = tmp_path / "everyday"
    metrics = run(tiny_causal_lm_dir, reward_dir, out, limit=6)
    assert sorted(p.name for p in out.iterdir()) == ["answers.jsonl", "metrics.json", "report.md"]
    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(metrics))
    records = read_answers(out)
    questions = load_everyday_questions().questions[:6]
    assert [r["id"] for r in records] == [q.id for q in questions]
    assert [r["question"] for r in records] == [q.question for q in questions]

    # the same answers as the shared generation code, the same scores as the guard's reward
    model, tokenizer = load_policy(str(tiny_causal_lm_dir))
    prompts = [q.question for q in questions]
    answers = generate_responses(model, tokenizer, prompts,
                                 DecodingConfig(max_new_tokens=4), progress=False)
    assert [r["answer"] for r in records] == answers
    scores = get_reward("reward-model", path=str(reward_dir)).score(prompts, answers)
    for head in ("fairness", "relevance", "fluency"):
        assert [r[head] for r in records] == pytest.approx(list(scores[head]))

    # metrics agree with the per-answer records
    assert metrics["n"] == 6 and metrics["questions"]["used"] == 6
    assert metrics["questions"]["total"] == len(load_everyday_questions().questions)
    assert metrics["thresholds"] == {"fairness": 0.5, "relevance": 0.5, "fluency": 0.5}
    for head in ("fairness", "relevance", "fluency"):
        below = [r[head] < 0.5 for r in records]
        assert metrics["flag_rate"][head] == pytest.approx(np.mean(below))
        assert [head in r["flagged_heads"] for r in records] == below
        assert metrics["means"][head] == pytest.approx(np.mean([r[head] for r in records]))
    assert metrics["flag_rate_any"] == pytest.approx(np.mean([r["flagged_any"] for r in records]))
    assert metrics["flag_rate_fairness"] == metrics["flag_rate"]["fairness"]
    assert [r["id"] for r in metrics["flagged"]] == [
        r["id"] for r in sorted((r for r in records if r["flagged_any"]), key=lambda r: r["fairness"])]
    assert metrics["target"]["met"] is None  # 6 questions are too few to judge the target
    assert sum(t["n"] for t in metrics["by_topic"].values()) == 6
    assert metrics["generation"]["do_sample"] is False
    report = (out / REPORT_FILE).read_text()
    assert "flagged for fairness" in report and "## Per topic" in report
    assert f"## Flagged answers ({len(metrics['flagged'])})" in report


def test_biased_from_scores_each_answer_again_with_a_biased_passage(
        tmp_path, tiny_causal_lm_dir, reward_dir):
    from fairguard.data.builder import build_dataset
    from fairguard.data.config import DataConfig

    data = tmp_path / "data"
    build_dataset(DataConfig(size=300, unqover=False), data)
    first = run(tiny_causal_lm_dir, reward_dir, tmp_path / "first", limit=5)
    assert first["with_biased_passage"] is None
    strict = set_thresholds(reward_dir, tmp_path / "rm-strict",
                            {"fairness": 1.0, "relevance": 0.0, "fluency": 0.0})
    metrics = run(tmp_path / "no-such-policy", strict, tmp_path / "out", limit=5,
                  answers=str(tmp_path / "first"), biased_from=str(data), seed=2)
    inserted = metrics["with_biased_passage"]
    assert inserted["cases"] == 5 and inserted["seed"] == 2 and inserted["split"] == "test"
    assert inserted["data"] == str(data.resolve()) and inserted["threshold"] == 1.0
    assert inserted["flagged_with_biased"] == 1.0 and inserted["passed_without"] == 0.0
    answers = [r["answer"] for r in read_answers(tmp_path / "first")]
    test_biased = [json.loads(line)["biased"] for line in (data / "test.jsonl").read_text().splitlines()]
    for example, answer in zip(inserted["examples"], answers):
        assert len(example) > len(answer) and any(s in example for s in test_biased
                                                  for s in s.split(". ") if len(s) > 20)
    assert "## With one biased passage inserted" in (tmp_path / "out" / REPORT_FILE).read_text()
    with pytest.raises(ConfigError, match="--biased-from is empty"):
        EverydayEvalConfig(reward_model="rm", out="o", biased_from=" ")
    with pytest.raises(DataError):
        run(tmp_path / "no-such-policy", reward_dir, tmp_path / "none", limit=5,
            answers=str(tmp_path / "first"), biased_from=str(tmp_path / "nowhere"))
    assert not (tmp_path / "none").exists()


def test_thresholds_in_fairguard_json_decide_the_flags(tmp_path, tiny_causal_lm_dir, reward_dir):
    strict = set_thresholds(reward_dir, tmp_path / "rm-strict",
                            {"fairness": 1.0, "relevance": 0.0, "fluency": 0.0})
    m = run(tiny_causal_lm_dir, strict, tmp_path / "strict", limit=5)
    assert m["flag_rate_fairness"] == 1.0 and m["flag_rate_any"] == 1.0
    assert m["flag_rate"] == {"fairness": 1.0, "relevance": 0.0, "fluency": 0.0}
    assert len(m["flagged"]) == 5
    assert all(r["flagged_heads"] == ["fairness"] for r in read_answers(tmp_path / "strict"))

    lenient = set_thresholds(reward_dir, tmp_path / "rm-lenient",
                             {"fairness": 0.0, "relevance": 0.0, "fluency": 1.0})
    m = run(tiny_causal_lm_dir, lenient, tmp_path / "lenient", limit=5)
    assert m["flag_rate_fairness"] == 0.0 and m["flag_rate_any"] == 1.0
    assert m["flag_rate"]["fluency"] == 1.0 and m["n_flagged_fairness"] == 0

    # a fairness threshold between the answers' scores flags exactly those below it
    fairness = sorted(r["fairness"] for r in read_answers(tmp_path / "strict"))
    middle = (fairness[1] + fairness[2]) / 2
    cut = set_thresholds(reward_dir, tmp_path / "rm-cut",
                         {"fairness": middle, "relevance": 0.0, "fluency": 0.0})
    m = run(tiny_causal_lm_dir, cut, tmp_path / "cut", limit=5)
    assert m["thresholds"]["fairness"] == pytest.approx(middle)
    assert m["n_flagged_fairness"] == sum(f < middle for f in fairness)
    assert m["flag_rate_any"] == m["flag_rate_fairness"]


def test_reward_model_without_fairness_head_is_refused(tmp_path, tiny_causal_lm_dir):
    from fairguard.testing import save_tiny, tiny_deberta_classifier

    folder = tmp_path / "rm-two"
    save_tiny(*tiny_deberta_classifier(labels=["relevance", "fluency"]), folder)
    write_metadata(folder, heads=["relevance", "fluency"])
    with pytest.raises(ConfigError, match="no fairness head"):
        run(tiny_causal_lm_dir, folder, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_runs_and_refuses_to_overwrite(tmp_path, tiny_causal_lm_dir, reward_dir):
    out = tmp_path / "cli"
    args = ["eval", "everyday", "--reward-model", str(reward_dir), "--policy",
            str(tiny_causal_lm_dir), "--limit", "3", "--max-new-tokens", "3", "--out", str(out),
            "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "# Everyday questions" in result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["n"] == 3 and set(summary["flag_rate"]) == {"fairness", "relevance", "fluency"}
    assert len(read_answers(out)) == 3

    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 1 and "already exists" in again.output
    assert CliRunner().invoke(cli, [*args, "--overwrite"]).exit_code == 0

    missing = CliRunner().invoke(cli, ["eval", "everyday", "--reward-model", str(tmp_path / "nope"),
                                       "--out", str(tmp_path / "o2"), "--quiet"])
    assert missing.exit_code == 1 and "not a folder" in missing.output
    assert not (tmp_path / "o2").exists()
    bad = CliRunner().invoke(cli, [*args[:-3], "--limit", "0", "--out", str(tmp_path / "o3")])
    assert bad.exit_code == 1 and "limit" in bad.output


def test_existing_output_is_refused_before_any_work(tmp_path, reward_dir):
    (tmp_path / "taken").mkdir()
    with pytest.raises(ArtifactError, match="already exists"):
        run("no-such-model", reward_dir, tmp_path / "taken")


def test_saved_answers_are_judged_again_without_generating(tmp_path, tiny_causal_lm_dir, reward_dir):
    first = run(tiny_causal_lm_dir, reward_dir, tmp_path / "first", limit=4)
    strict = set_thresholds(reward_dir, tmp_path / "rm-strict",
                            {"fairness": 1.0, "relevance": 0.0, "fluency": 0.0})
    # the policy does not exist: nothing may be generated
    again = run(tmp_path / "no-such-policy", strict, tmp_path / "again", limit=4,
                answers=str(tmp_path / "first"))
    assert [r["answer"] for r in read_answers(tmp_path / "again")] == \
        [r["answer"] for r in read_answers(tmp_path / "first")]
    assert again["answers_from"] == str((tmp_path / "first").resolve())
    assert again["flag_rate_fairness"] == 1.0 and first["answers_from"] is None
    assert again["answers_generated"] == 0 and first["answers_generated"] == 4
    with pytest.raises(ArtifactError, match="not found"):
        run(tiny_causal_lm_dir, reward_dir, tmp_path / "none", answers=str(tmp_path))
    assert not (tmp_path / "none").exists()


def test_questions_without_a_saved_answer_are_answered_by_the_policy(
        tmp_path, tiny_causal_lm_dir, reward_dir):
    """A question added to the set since the earlier run gets a fresh answer; the rest are reused."""
    run(tiny_causal_lm_dir, reward_dir, tmp_path / "first", limit=4)
    saved = read_answers(tmp_path / "first")
    for row in saved:
        row["answer"] = "Saved: " + row["answer"]  # so reused answers can be told from fresh ones
    (tmp_path / "first" / "answers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in saved))
    more = run(tiny_causal_lm_dir, reward_dir, tmp_path / "more", limit=6,
               answers=str(tmp_path / "first"))
    records = read_answers(tmp_path / "more")
    assert [r["answer"] for r in records[:4]] == [r["answer"] for r in saved]
    questions = load_everyday_questions().questions[4:6]
    model, tokenizer = load_policy(str(tiny_causal_lm_dir))
    fresh = generate_responses(model, tokenizer, [q.question for q in questions],
                               DecodingConfig(max_new_tokens=4), progress=False)
    assert [r["answer"] for r in records[4:]] == fresh
    assert more["answers_generated"] == 2 and more["n"] == 6


def test_missing_answers_are_not_added_with_other_generation_settings(
        tmp_path, tiny_causal_lm_dir, reward_dir):
    """One answer set never mixes two policies or two generation settings."""
    run(tiny_causal_lm_dir, reward_dir, tmp_path / "first", limit=4)
    config = EverydayEvalConfig(reward_model=str(reward_dir), out=str(tmp_path / "longer"),
                                policy=str(tiny_causal_lm_dir), limit=6, max_new_tokens=5,
                                answers=str(tmp_path / "first"))
    with pytest.raises(ConfigError, match="max_new_tokens.: 4"):
        run_everyday_eval(config, progress=False)
    with pytest.raises(ConfigError, match="policy='no-such-policy'"):
        run("no-such-policy", reward_dir, tmp_path / "other", limit=6,
            answers=str(tmp_path / "first"))
    (tmp_path / "first" / "metrics.json").unlink()
    with pytest.raises(ConfigError, match="no metrics.json"):
        run(tiny_causal_lm_dir, reward_dir, tmp_path / "bare", limit=6,
            answers=str(tmp_path / "first"))
    assert not any((tmp_path / name).exists() for name in ("longer", "other", "bare"))
