"""The same command under torchrun: 2 CPU processes (gloo DDP) end with identical adapters."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # two processes start torch + transformers (~45 s on 2 busy cores)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_processes_end_with_identical_adapters(tiny_causal_lm_dir, tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", str(_free_port()), "-m", "fairguard", "train", "grpo",
           "--model", str(tiny_causal_lm_dir), "--out", str(out), "--max-steps", "2",
           "--max-new-tokens", "4", "--lora-r", "4", "--learning-rate", "0.01", "--no-eval", "--quiet",
           "--prompts-per-step", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    meta = json.loads((out / "fairguard.json").read_text())
    assert meta["num_processes"] == 2
    digests = meta["adapter_sha256_by_rank"]
    assert len(digests) == 2 and digests[0] == digests[1]
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    # each step saw 2 processes x 2 prompts x 4 completions
    assert len(rows) == 2 and rows[0]["rewards"]["total"]["n"] == 16
    assert all(r["grad_norm"] > 0 for r in rows)
    assert result.stdout.count("wrote") == 1
