"""`fairguard train reward` under torchrun: 2 CPU processes (gloo DDP), and the one-process path."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest
from reward_model_data import write_dataset

from fairguard.errors import ConfigError
from fairguard.reward_model.distributed import (
    Processes,
    mean_over_processes,
    parameters_digest,
    predict_probs_sharded,
    shard_rows,
    start_processes,
)

LAUNCH_ENV = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(args: list[str], tmp_path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", str(_free_port()), *args]
    env = {k: v for k, v in os.environ.items() if k not in LAUNCH_ENV}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(
        [os.path.dirname(__file__), env.get("PYTHONPATH", "")]))
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)


def _train_args(data, out, backbone) -> list[str]:
    return ["--data", str(data), "--out", str(out), "--backbone", str(backbone), "--epochs", "2",
            "--batch-size", "4", "--device", "cpu", "--quiet"]


def test_two_gloo_processes_train_the_same_weights_and_write_once(tmp_path, tiny_deberta_dir):
    from transformers import AutoModelForSequenceClassification

    import fairguard

    data = write_dataset(tmp_path / "data")
    out = tmp_path / "models" / "rm"
    result = _torchrun(["-m", "fairguard", "train", "reward", *_train_args(data, out, tiny_deberta_dir)],
                       tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("wrote") == 1  # rank 0 alone reports
    assert os.listdir(out.parent) == ["rm"]  # one artifact, no temporary folder left
    metrics = json.loads((out / "metrics.json").read_text())
    dist = metrics["distributed"]
    assert dist["num_processes"] == 2 and dist["backend"] == "gloo"
    digests = dist["parameters_sha256_by_rank"]
    assert len(digests) == 2 and digests[0] == digests[1]
    saved = AutoModelForSequenceClassification.from_pretrained(out)
    assert parameters_digest(saved) == digests[0]  # the artifact holds the ranks' weights
    initial = AutoModelForSequenceClassification.from_pretrained(tiny_deberta_dir)
    assert parameters_digest(initial) != digests[0]  # and they were trained
    assert len(metrics["epochs"]) == 2 and metrics["best_epoch"] in (1, 2)
    assert all(e["train_loss"] > 0 for e in metrics["epochs"])
    scores = fairguard.get_reward("reward-model", path=str(out)).score(
        ["Should we hire the hui applicant?"], ["Judge the applicant on skills."])
    assert set(scores) == {"fairness", "relevance", "fluency"}


FAILING_RANK = textwrap.dedent("""
    # rank 1 fails at its third training batch; rank 0 must not hang and must write nothing
    import os
    import sys

    import fairguard.reward_model.train as train
    from fairguard.cli import cli
    from fairguard.errors import DataError

    if os.environ["RANK"] == "1":
        real, calls = train.tokenize_pairs, []

        def failing(*args, **kwargs):
            calls.append(1)
            if len(calls) == 3:
                raise DataError("rank 1 could not read its rows")
            return real(*args, **kwargs)

        train.tokenize_pairs = failing
    cli.main(sys.argv[1:], prog_name="fairguard")
""")


def test_a_failing_rank_ends_the_run_with_its_error(tmp_path, tiny_deberta_dir):
    data = write_dataset(tmp_path / "data")
    out = tmp_path / "models" / "rm"
    script = tmp_path / "failing_rank.py"
    script.write_text(FAILING_RANK)
    result = _torchrun([str(script), "train", "reward", *_train_args(data, out, tiny_deberta_dir)],
                       tmp_path)
    assert result.returncode != 0
    assert "Error: rank 1 could not read its rows" in result.stderr
    # rank 0 (unless the launcher stopped it first) says why in one line, with no traceback
    assert "[rank0]: Traceback" not in result.stderr and "[rank1]: Traceback" not in result.stderr
    assert not out.exists() and os.listdir(out.parent) == []  # its temporary folder is gone


def test_one_process_without_a_launcher(monkeypatch):
    for name in LAUNCH_ENV:
        monkeypatch.delenv(name, raising=False)
    processes = start_processes("cpu", batch_size=1)
    assert processes == Processes(device="cpu") and not processes.distributed
    assert processes.is_main
    monkeypatch.setenv("WORLD_SIZE", "1")  # torchrun --nproc_per_node 1: the same single run
    assert not start_processes("cpu", batch_size=8).distributed


def test_launch_env_errors_are_clear(monkeypatch):
    for name in LAUNCH_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match="RANK is not"):
        start_processes("cpu", batch_size=8)
    with pytest.raises(ConfigError, match="batch-size 1 is smaller than the 2 processes"):
        start_processes("cpu", batch_size=1)
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ConfigError, match="not an integer"):
        start_processes("cpu", batch_size=8)


def test_shard_rows_weights_give_the_row_weighted_mean():
    rows = [10, 11, 12, 13, 14]
    assert shard_rows(Processes(), rows) == (rows, 1.0)
    r0 = shard_rows(Processes(rank=0, world_size=2), rows)
    r1 = shard_rows(Processes(rank=1, world_size=2), rows)
    assert r0 == ([10, 12, 14], 2 * 3 / 5) and r1 == ([11, 13], 2 * 2 / 5)
    # DDP averages gradients over processes: sum(weight) / world == 1
    assert (r0[1] + r1[1]) / 2 == pytest.approx(1.0)
    # a process with no row in a short last batch runs one row with weight 0
    assert shard_rows(Processes(rank=2, world_size=3), [10, 11]) == ([10], 0.0)


def test_one_process_helpers_are_the_plain_ones(tiny_deberta_dir):
    import numpy as np

    from fairguard.reward_model.inference import predict_probs
    from fairguard.reward_model.model import build_reward_model

    assert mean_over_processes(Processes(), 0.25) == 0.25
    model, tokenizer, _ = build_reward_model(str(tiny_deberta_dir), ("fairness", "relevance"))
    prompts, responses = ["Should we hire them?"] * 3, ["Yes, on skills.", "No.", "Tea is hot."]
    expected = predict_probs(model, tokenizer, prompts, responses, 32, 2, "cpu")
    for processes in (None, Processes()):
        got = predict_probs_sharded(processes, model, tokenizer, prompts, responses, 32, 2, "cpu")
        assert np.array_equal(got, expected)
