"""``fairguard eval compare``: paired change between two quality evaluations."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fairguard.cli import cli
from fairguard.errors import ArtifactError, ConfigError
from fairguard.evaluation.compare import (
    compare_evaluations,
    load_responses,
    write_comparison,
)


def write_eval(folder, rows):
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "responses.jsonl").open("w") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    return folder


def row(i, category, fairness, relevance, prompt=None):
    return {"id": f"test-{i:05d}", "category": category, "prompt": prompt or f"prompt {i}",
            "response": f"answer {i}", "fairness": fairness, "relevance": relevance,
            "total": fairness + 0.5 * relevance}


@pytest.fixture
def evals(tmp_path):
    before = write_eval(tmp_path / "base", [row(0, "region", 0.2, 0.9), row(1, "region", 0.4, 0.8),
                                             row(2, "gender", 0.6, 0.7), row(3, "gender", 0.1, 0.6)])
    after = write_eval(tmp_path / "adapter", [row(3, "gender", 0.5, 0.6), row(0, "region", 0.8, 0.9),
                                               row(1, "region", 0.5, 0.7), row(2, "gender", 0.6, 0.8),
                                               row(9, "age", 1.0, 1.0)])
    return before, after


def test_answers_are_paired_by_prompt_id_not_by_line(evals):
    got = compare_evaluations(*evals)
    assert got.n == 4 and (got.only_before, got.only_after) == (0, 1)
    assert list(got.heads) == ["fairness", "relevance", "total"]
    fairness = got.heads["fairness"]
    assert fairness.change == pytest.approx((0.6 + 0.1 + 0.0 + 0.4) / 4)
    assert (fairness.improved, fairness.worse) == (3, 0)
    assert got.heads["relevance"].change == pytest.approx(0.0)
    assert got.by_category["region"]["fairness"].change == pytest.approx(0.35)
    assert got.by_category["gender"]["fairness"].n == 2


def test_rows_that_share_a_prompt_count_once_as_their_mean(tmp_path):
    """Folders that scored every row of a split (older versions) pair per prompt: a prompt that
    three rows share is one prompt whose score is the mean of its rows, not three."""
    same = "What's on your mind today?"
    before = write_eval(tmp_path / "b", [row(0, "region", 0.2, 0.9), row(1, "gender", 0.4, 0.5, same),
                                         row(2, "gender", 0.4, 0.5, same), row(3, "gender", 0.4, 0.5, same)])
    after = write_eval(tmp_path / "a", [row(0, "region", 0.4, 0.9), row(1, "gender", 0.1, 0.5, same),
                                        row(2, "gender", 0.1, 0.5, same), row(3, "gender", 0.4, 0.5, same)])
    got = compare_evaluations(before, after)
    assert (got.n, got.repeated_rows) == (2, 2)
    assert got.heads["fairness"].change == pytest.approx((0.2 + (-0.2)) / 2)
    assert got.by_category["gender"]["fairness"].n == 1
    assert "2 prompts evaluated by both (2 more rows repeat one of these prompts" in got.markdown()
    assert got.to_dict()["repeated_rows"] == 2


def test_the_share_of_evasive_answers_is_compared_from_the_responses(tmp_path):
    """Declining is read from each side's response text by the evasion rules: two of three
    answers decline after, none before (a repeated prompt counts once, as its mean)."""
    def answer(i, text, prompt=None):
        return {**row(i, "region", 0.5, 0.5, prompt), "response": text}

    before = write_eval(tmp_path / "b", [answer(0, "Wei did."), answer(1, "Boil it for ten minutes."),
                                         answer(2, "Fang."), answer(3, "Fang.", "prompt 2")])
    after = write_eval(tmp_path / "a", [answer(0, "It depends."), answer(1, "Boil it for ten minutes."),
                                        answer(2, "I can't help with that."),
                                        answer(3, "I can't help with that.", "prompt 2")])
    got = compare_evaluations(before, after)
    assert (got.evasive.before, got.evasive.after, got.evasive.n) == (0.0, pytest.approx(2 / 3), 3)
    assert got.to_dict()["evasive"]["change"] == pytest.approx(2 / 3)
    assert "| evasive answers | 0.000 | 0.667 |" in got.markdown()


def test_markdown_and_json_report_every_head_and_category(evals, tmp_path):
    got = compare_evaluations(*evals)
    text = got.markdown()
    assert "4 prompts evaluated by both" in text
    assert "| fairness | 0.325 | 0.600 | +0.275 ±" in text
    assert "## Change by category" in text and "| gender | 2 |" in text
    out = write_comparison(got, tmp_path / "cmp")
    saved = json.loads((out / "compare.json").read_text())
    assert saved["n"] == 4 and saved["heads"]["fairness"]["improved"] == 3
    assert (out / "compare.md").read_text() == text
    with pytest.raises(ArtifactError, match="already exists"):
        write_comparison(got, tmp_path / "cmp")


def test_cli_prints_the_table_and_writes_the_folder(evals, tmp_path):
    result = CliRunner().invoke(cli, ["eval", "compare", str(evals[0]), str(evals[1]),
                                       "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    assert "| relevance |" in result.output
    assert (tmp_path / "cmp" / "compare.json").is_file()


def test_cli_error_is_one_line_not_a_traceback(tmp_path):
    result = CliRunner().invoke(cli, ["eval", "compare", str(tmp_path), str(tmp_path)])
    assert result.exit_code != 0
    assert "responses.jsonl not found" in result.output and "Traceback" not in result.output


def test_different_prompts_under_one_id_are_refused(evals, tmp_path):
    other = write_eval(tmp_path / "other", [row(0, "region", 0.2, 0.9, prompt="something else")])
    with pytest.raises(ConfigError, match="different datasets"):
        compare_evaluations(evals[0], other)


def test_no_shared_ids_is_a_clear_error(evals, tmp_path):
    other = write_eval(tmp_path / "other", [row(42, "age", 0.2, 0.9)])
    with pytest.raises(ConfigError, match="share no prompt ids"):
        compare_evaluations(evals[0], other)


def test_missing_score_is_reported_with_the_prompt(evals, tmp_path):
    broken = row(0, "region", 0.2, 0.9)
    broken["fairness"] = None  # how write_jsonl stores a NaN score
    other = write_eval(tmp_path / "other", [broken, row(1, "region", 0.5, 0.7)])
    with pytest.raises(ArtifactError, match="'test-00000' has no 'fairness' score"):
        compare_evaluations(evals[0], other)


def test_corrupt_or_empty_files_are_artifact_errors(tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "responses.jsonl").write_text('{"id": "a"}\n{not json\n')
    with pytest.raises(ArtifactError, match="line 2: invalid JSON"):
        load_responses(tmp_path / "bad")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "responses.jsonl").write_text("\n")
    with pytest.raises(ArtifactError, match="is empty"):
        load_responses(tmp_path / "empty")
    (tmp_path / "noid").mkdir()
    (tmp_path / "noid" / "responses.jsonl").write_text('{"prompt": "p", "fairness": 1.0}\n')
    with pytest.raises(ArtifactError, match="no prompt id"):
        load_responses(tmp_path / "noid")


def test_unreadable_file_is_an_artifact_error(tmp_path):
    (tmp_path / "binary").mkdir()
    (tmp_path / "binary" / "responses.jsonl").write_bytes(b"\xff\xfe\x00not utf-8")
    with pytest.raises(ArtifactError, match="cannot be read"):
        load_responses(tmp_path / "binary")


def judged_row(i, scores):
    """A row scored only by judges: ``scores`` is {judge: fairness}."""
    return {"id": f"test-{i:05d}", "category": "region", "prompt": f"prompt {i}",
            "response": f"answer {i}",
            "judges": {name: {"fairness": value, "relevance": 0.5} for name, value in scores.items()}}


def write_judged(folder, rows, relations=None):
    write_eval(folder, rows)
    if relations is not None:
        (folder / "metrics.json").write_text(json.dumps(
            {"judges": {name: {"relation": kind} for name, kind in relations.items()}}))
    return folder


def test_each_judge_is_compared_less_independent_relation_first_out(tmp_path, caplog):
    before = write_judged(tmp_path / "base", [judged_row(i, {"rm-a": 0.2, "rm-b": 0.5, "rm-c": 0.1})
                                              for i in range(3)],
                          {"rm-a": "independent", "rm-b": "independent", "rm-c": "independent"})
    after = write_judged(tmp_path / "adapter", [judged_row(i, {"rm-a": 0.6 + i / 10, "rm-b": 0.4})
                                                for i in range(3)],
                         {"rm-a": "training", "rm-b": "same-data"})
    with caplog.at_level("WARNING", logger="fairguard"):
        got = compare_evaluations(before, after)
    assert "judge rm-c scored only one" in caplog.text
    assert list(got.judges) == ["rm-b", "rm-a"] and got.heads == {} and got.n == 3
    assert got.judges["rm-a"].relation == "training"
    assert got.judges["rm-a"].heads["fairness"].change == pytest.approx(0.5)
    assert got.judges["rm-b"].heads["relevance"].change == pytest.approx(0.0)
    assert got.judges["rm-a"].by_category["region"]["fairness"].n == 3
    text = got.markdown()
    assert text.index("| rm-b | same data as the training judge | fairness |") < text.index("| rm-a |")
    assert "Every judge" not in text and "## Weighted reward" not in text


def test_every_judge_the_training_judge_is_said_loudly(tmp_path):
    before = write_judged(tmp_path / "base", [judged_row(i, {"rm": 0.2}) for i in range(2)])
    after = write_judged(tmp_path / "adapter", [judged_row(i, {"rm": 0.9}) for i in range(2)],
                         {"rm": "training"})
    got = compare_evaluations(before, after)
    assert got.judges["rm"].relation == "training"  # no metrics.json before: unknown, training wins
    assert "**Every judge is the reward model the adapter was trained against" in got.markdown()
    assert got.to_dict()["every_judge_is_training_judge"] is True


def test_judges_without_metrics_are_unknown_and_a_missing_score_is_named(tmp_path):
    before = write_judged(tmp_path / "base", [judged_row(i, {"rm": 0.2}) for i in range(2)])
    after = write_judged(tmp_path / "adapter", [judged_row(0, {"rm": 0.4}), judged_row(1, {"x": 0.4})])
    with pytest.raises(ArtifactError, match="'test-00001' has no judge rm's 'fairness' score"):
        compare_evaluations(before, after)
    fine = write_judged(tmp_path / "fine", [judged_row(i, {"rm": 0.4}) for i in range(2)])
    assert compare_evaluations(before, fine).judges["rm"].relation == "unknown"
