"""fairguard.export.latency on the tiny reward model and its shared ONNX export (real
onnxruntime). Structure and positive timings only: no timing comparisons."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from onnx_export_data import copy_export, shared_export

from fairguard.errors import ArtifactError, ConfigError
from fairguard.export.latency import (
    BACKENDS,
    INT8_FEATURES,
    load_scorers,
    machine_info,
    measure_latency,
    time_scorers,
    torch_threads,
)

PROMPTS = ["should we hire the rural worker?", "can the old tenant rent the flat?",
           "who is a good student?"]
RESPONSES = ["judge the worker on skills", "no, old people are unreliable", "the city has schools"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return shared_export(tmp_path_factory)


def test_measure_latency_times_all_three_backends(exported) -> None:
    import torch

    source, onnx = exported
    threads_before = torch.get_num_threads()
    result = measure_latency(source, onnx, PROMPTS, RESPONSES, rounds=2, threads=1,
                             progress=False)
    assert torch.get_num_threads() == threads_before  # restored
    assert json.loads(json.dumps(result)) == result  # JSON-ready as is
    assert result["kind"] == "scoring-latency" and result["batch_size"] == 1
    assert (result["pairs"], result["rounds"], result["threads"]) == (3, 2, 1)
    assert result["warmup_calls"] == 3
    assert list(result["backends"]) == list(BACKENDS)
    for row in result["backends"].values():
        assert row["calls"] == 6  # 3 pairs x 2 rounds
        for key in ("ms_per_pair", "p95_ms_per_pair", "mean_ms_per_pair", "speedup_vs_torch"):
            assert math.isfinite(row[key]) and row[key] > 0, key
        assert row["p95_ms_per_pair"] >= row["ms_per_pair"]
    torch_row = result["backends"]["torch"]
    assert torch_row["speedup_vs_torch"] == 1.0
    int8 = result["backends"]["onnx-int8"]
    assert int8["speedup_vs_torch"] == pytest.approx(torch_row["ms_per_pair"] / int8["ms_per_pair"])
    machine = result["machine"]
    assert machine["cpu_count"] >= 1 and machine["torch"] == torch.__version__
    assert machine["onnxruntime"] and machine["cpu"]
    assert result["torch_model"] == str(source) and result["onnx_model"] == str(onnx)
    assert result["seconds"] > 0 and result["date_utc"].endswith("+00:00")
    assert result["fusion"]["fused"] is True  # the graph that was timed, from fairguard.json


def test_fp32_only_export_is_timed_without_int8(exported, tmp_path: Path) -> None:
    source, onnx = exported
    folder = copy_export(onnx, tmp_path / "fp32-only")
    (folder / "model_int8.onnx").unlink()
    result = measure_latency(source, folder, PROMPTS[:1], RESPONSES[:1], rounds=1, warmup=0,
                             threads=1, progress=False)
    assert list(result["backends"]) == ["torch", "onnx-fp32"]
    assert result["backends"]["onnx-fp32"]["calls"] == 1 and result["warmup_calls"] == 0


def test_time_scorers_cycles_pairs_per_batch_size(exported) -> None:
    source, onnx = exported
    scorers = load_scorers(source, onnx, threads=1, backends=("onnx-fp32", "onnx-int8"))
    assert {s.backend for s in scorers.values()} == {"onnx-fp32", "onnx-int8"}
    timed = time_scorers(scorers, PROMPTS, RESPONSES, batch_sizes=(1, 2), rounds=3, warmup=1,
                         progress=False)
    assert set(timed) == {"onnx-fp32", "onnx-int8"}
    for per_batch in timed.values():
        assert set(per_batch) == {1, 2}
        for stats in per_batch.values():
            assert stats["calls"] == 3 and stats["p50"] > 0 and stats["p95"] >= stats["p50"]


def test_bad_arguments_and_missing_export(exported, tmp_path: Path) -> None:
    source, onnx = exported
    with pytest.raises(ConfigError, match="rounds"):
        measure_latency(source, onnx, PROMPTS, RESPONSES, rounds=0)
    with pytest.raises(ConfigError, match="threads"):
        measure_latency(source, onnx, PROMPTS, RESPONSES, threads=0)
    with pytest.raises(ConfigError, match="at least one"):
        measure_latency(source, onnx, [], [])
    with pytest.raises(ConfigError, match="unknown backend"):
        load_scorers(source, onnx, 1, backends=("tensorrt",))
    with pytest.raises(ArtifactError, match="model.onnx"):
        measure_latency(source, tmp_path, PROMPTS, RESPONSES)


def test_torch_threads_restores_the_count() -> None:
    import torch

    before = torch.get_num_threads()
    with torch_threads(1) as used:
        assert used == torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with torch_threads(None) as used:
        assert used == before


def test_machine_info_fields() -> None:
    info = machine_info()
    assert set(info) >= {"cpu", "cpu_features", "machine", "cpu_count", "platform", "python",
                         "torch", "onnxruntime"}
    assert set(info["cpu_features"]) <= set(INT8_FEATURES)


def test_cpu_features_read_the_flags_line(monkeypatch, tmp_path) -> None:
    import fairguard.export.latency as latency

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("model name\t: Some CPU\nflags\t\t: fpu sse avx2 avx512f avx512_vnni\n")
    real = Path.read_text
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: real(
        cpuinfo if str(self) == "/proc/cpuinfo" else self, *a, **k))
    assert latency.cpu_features() == ["avx2", "avx512f", "avx512_vnni"]
    cpuinfo.write_text("model name\t: Old CPU\nflags\t\t: fpu sse sse2\n")
    assert latency.cpu_features() == []


class _Recorder:
    """A scorer that records which backend scored which pairs, in call order."""

    def __init__(self, name: str, log: list) -> None:
        self.name, self.log = name, log

    def score(self, prompts, responses):
        self.log.append((self.name, tuple(prompts)))


def test_time_scorers_runs_each_backend_in_chunks_over_the_same_pairs() -> None:
    log: list = []
    scorers = {"a": _Recorder("a", log), "b": _Recorder("b", log)}
    timed = time_scorers(scorers, PROMPTS, RESPONSES, batch_sizes=(1,), rounds=5, warmup=1,
                         chunk=2, progress=False)
    assert [timed[name][1]["calls"] for name in "ab"] == [5, 5]
    names = "".join(name for name, _ in log)
    # one warm-up call each, then chunks of 1 untimed + 2 timed calls (the last chunk 1 timed)
    assert names == "a" + "b" + "aaa" + "bbb" + "aaa" + "bbb" + "aa" + "bb"
    for name in "ab":
        pairs = [p for n, p in log if n == name]
        assert pairs == [p for n, p in log if n == ("b" if name == "a" else "a")]  # same pairs
    timed_pairs = [p for n, p in log if n == "a"]
    assert timed_pairs[2:4] == [(PROMPTS[1],), (PROMPTS[2],)]  # calls 1 and 2 cycle the pairs
    with pytest.raises(ConfigError, match="chunk"):
        time_scorers(scorers, PROMPTS, RESPONSES, chunk=0, progress=False)
