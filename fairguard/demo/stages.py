"""The demo's stages, in order. Each calls the real command (or its library function), writes one
sub-folder of ``--out`` and counts as done when its artifact's marker file exists, so a rerun
after a crash skips what already finished."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from fairguard.demo.config import GUARD_PROMPTS, POLICY, DemoConfig


@dataclass(frozen=True)
class Stage:
    """One step of the demo: ``folder`` under ``--out``, ``marker`` inside it, ``run(config)``;
    ``also``: further files (relative to ``--out``) the stage writes, which must exist too."""

    name: str
    folder: str
    marker: str
    run: Callable[[DemoConfig], None]
    also: tuple[str, ...] = ()

    def path(self, config: DemoConfig) -> Path:
        return config.out / self.folder

    def done(self, config: DemoConfig) -> bool:
        return (self.path(config) / self.marker).is_file() and all(
            (config.out / extra).is_file() for extra in self.also)


def _cli(args: list[str]) -> None:
    """Run a fairguard command in this process (errors propagate)."""
    from fairguard.cli import cli

    cli.main(args=args, prog_name="fairguard", standalone_mode=False)


def _p(config: DemoConfig, folder: str) -> str:
    return str(config.out / folder)


# Settings per stage: quick (minutes, for tests and a first look) and full (about 30 minutes on
# 2 CPU cores; per-stage timings in docs/demo.md: reward ~9.5 min (the command's defaults),
# export + latency ~1 min, GRPO 20 steps, refine ~2-5 min (600 questions), guard <1 min).
SETTINGS: dict[str, dict[str, list[str]]] = {
    "data": {"quick": ["--size", "small"], "full": ["--size", "default"]},
    "reward": {
        "quick": ["--limit", "240", "--rows-per-epoch", "240", "--epochs", "1", "--lr", "3e-4",
                  "--max-length", "96", "--freeze-layers", "4", "--val-rows", "24"],
        "full": [],  # the command's defaults: the measured recipe, 9.5 min on 2 idle cores
    },
    "export": {"quick": ["--max-pairs", "64"], "full": ["--max-pairs", "1000"]},
    # batch-1 scoring latency after the export: pairs, rounds over them, threads
    "latency": {"quick": ["16", "3", "1"], "full": ["32", "5", "1"]},
    "grpo": {
        "quick": ["--max-steps", "3", "--eval-prompts", "6", "--max-new-tokens", "16",
                  "--num-generations", "2", "--prompts-per-step", "2", "--save-every", "2"],
        "full": ["--max-steps", "20", "--eval-prompts", "16", "--max-new-tokens", "32",
                 "--save-every", "10"],
    },
    "refine": {
        "quick": ["--max-quads", "24", "--max-disambig", "48"],
        "full": ["--max-quads", "60", "--max-disambig", "120"],
    },
    "guard": {"quick": ["2", "16"], "full": ["4", "40"]},  # n candidates, max_new_tokens
}


def _mode(config: DemoConfig) -> str:
    return "quick" if config.quick else "full"


def run_data(config: DemoConfig) -> None:
    _cli(["data", "build", "--out", _p(config, "data"), "--seed", str(config.seed), "--overwrite",
          *SETTINGS["data"][_mode(config)]])


def run_reward(config: DemoConfig) -> None:
    _cli(["train", "reward", "--data", _p(config, "data"), "--out", _p(config, "reward-model"),
          "--seed", str(config.seed), "--overwrite", *SETTINGS["reward"][_mode(config)]])


LATENCY_FILE = "latency.json"


def run_export(config: DemoConfig) -> None:
    """Export to ONNX fp32 + int8 (skipped when a finished export exists and this is a resume
    for the missing latency file), then time torch vs fp32 vs int8 into ``--out/latency.json``."""
    if config.overwrite or not (config.out / "reward-onnx" / "parity.json").is_file():
        _cli(["export", "onnx", "--model", _p(config, "reward-model"), "--out",
              _p(config, "reward-onnx"), "--data", _p(config, "data"), "--quantize", "int8",
              "--overwrite", *SETTINGS["export"][_mode(config)]])
    _latency(config)


def _latency(config: DemoConfig) -> None:
    """Batch-1 scoring latency of the torch reward model and its fp32 / int8 exports, measured
    in one run on the first test pairs (the parity check's pairs), written to ``latency.json``."""
    from fairguard.artifacts import write_json
    from fairguard.export.latency import measure_latency
    from fairguard.export.parity_inputs import parity_pairs

    n_pairs, rounds, threads = (int(v) for v in SETTINGS["latency"][_mode(config)])
    pairs = parity_pairs(_p(config, "data"), n_pairs)
    click.echo(f"timing batch-1 scoring: torch vs ONNX fp32 vs int8, {len(pairs)} pairs x "
               f"{rounds} rounds, {threads} thread{'' if threads == 1 else 's'}")
    result = measure_latency(_p(config, "reward-model"), _p(config, "reward-onnx"), pairs.prompts,
                             pairs.responses, rounds=rounds, threads=threads)
    result["pair_source"] = pairs.source
    tmp = config.out / f".{LATENCY_FILE}.tmp"
    write_json(tmp, result)
    tmp.replace(config.out / LATENCY_FILE)  # never a half-written file that counts as done
    rows = ", ".join(f"{name} {r['ms_per_pair']:.1f} ms ({r['speedup_vs_torch']:.2f}x)"
                     for name, r in result["backends"].items())
    click.echo(f"median ms/pair (speed-up vs torch): {rows}")


def run_grpo(config: DemoConfig) -> None:
    _cli(["train", "grpo", "--model", POLICY, "--reward-model", _p(config, "reward-model"),
          "--reward", "fairness=1,relevance=0.5,fluency=0.5", "--data", _p(config, "data"),
          "--out", _p(config, "grpo-adapter"), "--seed", str(config.seed), "--overwrite",
          *SETTINGS["grpo"][_mode(config)]])


def run_refine(config: DemoConfig) -> None:
    _cli(["train", "refine", "--model", POLICY, "--data", _p(config, "data"), "--category", "gender",
          "--out", _p(config, "refine-gender"), "--seed", str(config.seed), "--overwrite",
          *SETTINGS["refine"][_mode(config)]])


def run_guard(config: DemoConfig) -> None:
    """Wrap a real text-generation pipeline with the guard (ONNX reward model, gender-bias,
    neutralize) and save every candidate, its scores and the chosen output per prompt."""
    from transformers import pipeline, set_seed

    from fairguard import Guard
    from fairguard.artifacts import atomic_output_dir, write_json
    from fairguard.models import load_causal_lm

    n_text, tokens_text = SETTINGS["guard"][_mode(config)]
    n, max_new_tokens = int(n_text), int(tokens_text)
    model, tokenizer = load_causal_lm(POLICY)
    pipe = pipeline("text-generation", model=model, tokenizer=tokenizer)
    weights = "fairness=1,relevance=0.5,fluency=0.5,gender-bias=0.5"
    guard = Guard.from_names(
        "reward-model,gender-bias", ["neutralize"],
        reward_options={"reward-model": {"path": _p(config, "reward-onnx")}},
        weights=weights, strategy="rewrite", n=n, fail="closed", below="refuse",
    )
    chat = guard.wrap(pipe)
    examples = []
    for prompt in GUARD_PROMPTS:
        set_seed(config.seed)
        outputs = chat([{"role": "user", "content": prompt}], max_new_tokens=max_new_tokens,
                       num_return_sequences=n)
        candidates = []
        for rank, out in enumerate(outputs):
            record = dict(out["fairguard"])
            text = out["generated_text"]
            if isinstance(text, list):
                text = text[-1]["content"]
            candidates.append({"rank": rank + 1, "text": text, **record})
        examples.append({"prompt": prompt, "chosen": candidates[0]["text"],
                         "chosen_scores": candidates[0]["scores"],
                         "decision": candidates[0]["decision"], "action": candidates[0]["action"],
                         "candidates": candidates})
    with atomic_output_dir(config.out / "guard", overwrite=True) as folder:
        write_json(Path(folder) / "guard_examples.json", {
            "policy": POLICY, "rewards": "reward-model,gender-bias", "filters": ["neutralize"],
            "weights": weights, "strategy": "rewrite", "n": n, "max_new_tokens": max_new_tokens,
            "reward_model": _p(config, "reward-onnx"), "seed": config.seed, "examples": examples})


def build_stages() -> list[Stage]:
    """The demo's stages in the order they run."""
    return [
        Stage("data build", "data", "manifest.json", run_data),
        Stage("train reward model", "reward-model", "metrics.json", run_reward),
        Stage("export onnx (fp32 + int8) + latency", "reward-onnx", "parity.json", run_export,
              also=(LATENCY_FILE,)),
        Stage("train grpo (before/after eval)", "grpo-adapter", "metrics.json", run_grpo),
        Stage("train refine (gender)", "refine-gender", "metrics.json", run_refine),
        Stage("guard examples", "guard", "guard_examples.json", run_guard),
    ]


def run_demo(config: DemoConfig, stages: list[Stage] | None = None) -> Path:
    """Run every stage not yet done (all of them with ``overwrite``), then write the report.
    Returns the path of ``report.md``."""
    from fairguard.demo.report import write_report

    stages = build_stages() if stages is None else stages
    config.out.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    timings: dict[str, float] = {}
    timings_path = config.out / "timings.json"
    if timings_path.is_file() and not config.overwrite:
        timings = json.loads(timings_path.read_text())
    for k, stage in enumerate(stages, 1):
        head = f"[stage {k}/{len(stages)}] {stage.name}"
        if stage.done(config) and not config.overwrite:
            click.echo(f"{head}: done already ({stage.path(config)}), skipped")
            continue
        click.echo(f"{head} -> {stage.path(config)}  (elapsed {time.monotonic() - start:.0f} s)")
        t0 = time.monotonic()
        stage.run(config)
        timings[stage.name] = round(time.monotonic() - t0, 1)
        timings_path.write_text(json.dumps(timings, indent=2))
        click.echo(f"{head}: finished in {timings[stage.name]:.0f} s "
                   f"(elapsed {time.monotonic() - start:.0f} s)")
    report = write_report(config.out, quick=config.quick, timings=timings)
    click.echo(f"report: {report}  (total {time.monotonic() - start:.0f} s)")
    return report
