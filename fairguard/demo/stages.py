"""The demo's stages, in order. Each builds its command's config from the preset
(``presets/quick.yaml`` or ``presets/full.yaml``), calls the same library function as the command,
writes one sub-folder of ``--out`` and counts as done when its artifact's marker file exists, so a
rerun after a crash skips what already finished. Progress goes to the ``fairguard.demo`` logger
(``fairguard demo`` shows it as plain lines)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from fairguard.data.config import DataConfig
from fairguard.demo.config import GUARD_PROMPTS, POLICY, DemoConfig, load_preset
from fairguard.errors import ConfigError
from fairguard.evaluation.behaviour import BehaviourEvalConfig
from fairguard.evaluation.quality import QualityEvalConfig
from fairguard.export.config import OnnxExportConfig
from fairguard.refine.config import RefineConfig
from fairguard.reward_model.config import RewardTrainConfig
from fairguard.training.config import GRPOConfig

T = TypeVar("T")
log = logging.getLogger("fairguard.demo")


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


def _p(config: DemoConfig, folder: str) -> str:
    return str(config.out / folder)


def _settings(config: DemoConfig, stage: str) -> dict[str, Any]:
    """The preset's settings of ``stage``."""
    return config.preset()[stage]


def _build(cls: type[T], config: DemoConfig, *stages: str, **fixed: Any) -> T:
    """``cls`` from the preset settings of ``stages`` (later ones on top), with the demo's own
    paths and seed on top of those."""
    from fairguard.config import build_config

    settings: dict[str, Any] = {}
    for stage in stages:
        settings.update(_settings(config, stage))
    return build_config(cls, None, **{**settings, **fixed})


STAGE_CONFIGS: dict[str, type] = {
    "data": DataConfig, "reward": RewardTrainConfig, "judge": RewardTrainConfig,
    "export": OnnxExportConfig, "grpo": GRPOConfig, "cross_judge": QualityEvalConfig,
    "behaviour": BehaviourEvalConfig, "refine": RefineConfig,
}  # latency and guard hold the demo's own options, those of the full preset


def check_settings(config: DemoConfig) -> None:
    """Refuse option names of ``config.settings`` that their stage does not know, before any
    stage runs (values are checked as each stage builds its config)."""
    from fairguard.config import config_options

    own = load_preset("full")
    for stage, options in config.overlay.items():
        cls = STAGE_CONFIGS.get(stage)
        if cls is None:
            known, hint = set(own[stage]), f"it takes {', '.join(sorted(own[stage]))}"
        else:  # flat option names, their aliases, and sub-config names a YAML file may nest under
            known = {n for o in config_options(cls) for n in (o.name, *o.aliases, *o.path)}
            hint = "see docs/options.md"
        unknown = sorted(str(k) for k in options if k not in known)
        if unknown:
            raise ConfigError(f"--settings {config.settings}: section {stage} has no option(s) "
                              f"{', '.join(unknown)}; {hint}")


def data_config(config: DemoConfig) -> DataConfig:
    return _build(DataConfig, config, "data", seed=config.seed)


def reward_config(config: DemoConfig) -> RewardTrainConfig:
    return _build(RewardTrainConfig, config, "reward", data=_p(config, "data"),
                  out=_p(config, "reward-model"), seed=config.seed, overwrite=True)


def export_config(config: DemoConfig) -> OnnxExportConfig:
    return _build(OnnxExportConfig, config, "export", model=_p(config, "reward-model"),
                  out=_p(config, "reward-onnx"), data=_p(config, "data"), quantize="int8",
                  overwrite=True)


def grpo_config(config: DemoConfig) -> GRPOConfig:
    return _build(GRPOConfig, config, "grpo", model=POLICY, reward_model=_p(config, "reward-model"),
                  data=_p(config, "data"), seed=config.seed)


# The evaluation judge: the reward recipe on another data seed (other held-out groups and
# templates), a judge the GRPO adapter never trained against.
JUDGE_DATA, JUDGE = "data-independent", "judge-independent"
JUDGE_SEED_OFFSET = 1
# cross-judge quality: two `eval quality` folders and their `eval compare`
CROSS_JUDGE = "cross-judge"
BASE_EVAL, ADAPTER_EVAL, COMPARE = "base", "grpo-adapter", "compare"
BEHAVIOUR = "behaviour"


def judge_data_config(config: DemoConfig) -> DataConfig:
    return _build(DataConfig, config, "data", seed=config.seed + JUDGE_SEED_OFFSET)


def judge_config(config: DemoConfig) -> RewardTrainConfig:
    """The training judge's preset settings (``reward``), then the ``judge`` section's on top."""
    return _build(RewardTrainConfig, config, "reward", "judge", data=_p(config, JUDGE_DATA),
                  out=_p(config, JUDGE), seed=config.seed, overwrite=True)


def quality_config(config: DemoConfig, adapter: str | None, folder: str) -> QualityEvalConfig:
    """``eval quality`` of the base model (``adapter=None``) or the adapter on the test split,
    judged by the independent judge and the training judge."""
    return _build(QualityEvalConfig, config, "cross_judge", model=POLICY, adapter=adapter,
                  data=_p(config, "data"), split="test",
                  judge=(_p(config, JUDGE), _p(config, "reward-model")),
                  out=str(config.out / CROSS_JUDGE / folder), seed=config.seed, overwrite=True)


def behaviour_config(config: DemoConfig) -> BehaviourEvalConfig:
    return _build(BehaviourEvalConfig, config, "behaviour", model=POLICY,
                  adapter=_p(config, "grpo-adapter"), judge=_p(config, JUDGE),
                  out=_p(config, BEHAVIOUR), seed=config.seed, overwrite=True)


def refine_config(config: DemoConfig) -> RefineConfig:
    return _build(RefineConfig, config, "refine", model=POLICY, data=_p(config, "data"),
                  category="gender", seed=config.seed)


def run_data(config: DemoConfig) -> None:
    from fairguard.data.builder import build_dataset

    result = build_dataset(data_config(config), _p(config, "data"), overwrite=True)
    log.info(f"wrote {result.out}: " + ", ".join(f"{k} {v}" for k, v in result.counts["rows"].items())
               + " prompts")


def run_reward(config: DemoConfig) -> None:
    from fairguard.reward_model.train import train_reward_model

    result = train_reward_model(reward_config(config))
    log.info(f"wrote {result.out} (best epoch {result.metrics['best_epoch']})")


LATENCY_FILE = "latency.json"


def run_export(config: DemoConfig) -> None:
    """Export to ONNX fp32 + int8 (skipped when a finished export exists and this is a resume
    for the missing latency file), then time torch vs fp32 vs int8 into ``--out/latency.json``."""
    if config.overwrite or not (config.out / "reward-onnx" / "parity.json").is_file():
        _export(config)
    _latency(config)


def _export(config: DemoConfig) -> None:
    from fairguard.export.onnx_export import export_onnx_from_config

    result = export_onnx_from_config(export_config(config))
    log.info(f"wrote {result.out} (opset {result.opset}, {result.seconds:.1f} s)")


def _latency(config: DemoConfig) -> None:
    """Batch-1 scoring latency of the torch reward model and its fp32 / int8 exports, measured
    in one run on the first test pairs (the parity check's pairs), written to ``latency.json``."""
    from fairguard.artifacts import write_json
    from fairguard.export.latency import measure_latency
    from fairguard.export.parity_inputs import parity_pairs

    settings = _settings(config, "latency")
    n_pairs, rounds, threads = (int(settings[k]) for k in ("pairs", "rounds", "threads"))
    pairs = parity_pairs(_p(config, "data"), n_pairs)
    log.info(f"timing batch-1 scoring: torch vs ONNX fp32 vs int8, {len(pairs)} pairs x "
               f"{rounds} rounds, {threads} thread{'' if threads == 1 else 's'}")
    result = measure_latency(_p(config, "reward-model"), _p(config, "reward-onnx"), pairs.prompts,
                             pairs.responses, rounds=rounds, threads=threads)
    result["pair_source"] = pairs.source
    tmp = config.out / f".{LATENCY_FILE}.tmp"
    write_json(tmp, result)
    tmp.replace(config.out / LATENCY_FILE)  # never a half-written file that counts as done
    rows = ", ".join(f"{name} {r['ms_per_pair']:.1f} ms ({r['speedup_vs_torch']:.2f}x)"
                     for name, r in result["backends"].items())
    log.info(f"median ms/pair (speed-up vs torch): {rows}")


def run_grpo(config: DemoConfig) -> None:
    from fairguard.training.trainer import train

    log.info(f"wrote {train(grpo_config(config), _p(config, 'grpo-adapter'), overwrite=True)}")


def run_judge_data(config: DemoConfig) -> None:
    from fairguard.data.builder import build_dataset

    result = build_dataset(judge_data_config(config), _p(config, JUDGE_DATA), overwrite=True)
    log.info(f"wrote {result.out} (seed {config.seed + JUDGE_SEED_OFFSET}): "
               + ", ".join(f"{k} {v}" for k, v in result.counts["rows"].items()) + " prompts")


def run_judge(config: DemoConfig) -> None:
    from fairguard.reward_model.train import train_reward_model

    result = train_reward_model(judge_config(config))
    log.info(f"wrote {result.out} (best epoch {result.metrics['best_epoch']})")


def run_cross_judge(config: DemoConfig) -> None:
    """``eval quality`` of the base model and of the adapter on the same test prompts, each
    judged by both judges, then ``eval compare`` of the two. A side whose folder is finished is
    not redone on a resume (``--overwrite`` redoes both)."""
    from fairguard.evaluation.compare import compare_evaluations, write_comparison
    from fairguard.evaluation.quality import run_quality_eval
    from fairguard.evaluation.report import change_cell

    folder = config.out / CROSS_JUDGE
    for adapter, side in ((None, BASE_EVAL), (_p(config, "grpo-adapter"), ADAPTER_EVAL)):
        if config.overwrite or not (folder / side / "responses.jsonl").is_file():
            run_quality_eval(quality_config(config, adapter, side))
    comparison = compare_evaluations(folder / BASE_EVAL, folder / ADAPTER_EVAL)
    write_comparison(comparison, folder / COMPARE, overwrite=True)
    for name, judge in comparison.judges.items():
        rows = ", ".join(f"{h} {change_cell(c.change, c.se)}" for h, c in judge.heads.items())
        log.info(f"judge {name} ({judge.relation}): {rows}")


def run_behaviour(config: DemoConfig) -> None:
    from fairguard.evaluation.behaviour import run_behaviour as behaviour

    metrics = behaviour(behaviour_config(config))
    log.info(f"wrote {_p(config, BEHAVIOUR)} ({metrics['seconds']:.0f} s)")


def run_refine(config: DemoConfig) -> None:
    from fairguard.refine.train import train_refine_layer

    train_refine_layer(refine_config(config), _p(config, "refine-gender"), overwrite=True,
                       log=log.info)
    log.info(f"wrote {_p(config, 'refine-gender')}")


def run_guard(config: DemoConfig) -> None:
    """Wrap a real text-generation pipeline with the guard (ONNX reward model, gender-bias,
    neutralize) and save every candidate, its scores and the chosen output per prompt."""
    from transformers import pipeline, set_seed

    from fairguard import Guard
    from fairguard.artifacts import atomic_output_dir, write_json
    from fairguard.models import load_causal_lm

    settings = _settings(config, "guard")
    n, max_new_tokens = int(settings["n"]), int(settings["max_new_tokens"])
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
        Stage("train grpo (before/after eval by the training judge)", "grpo-adapter",
              "metrics.json", run_grpo),
        Stage("data build (independent judge)", JUDGE_DATA, "manifest.json", run_judge_data),
        Stage("train reward model (independent judge)", JUDGE, "metrics.json", run_judge),
        Stage("cross-judge quality (base vs adapter)", CROSS_JUDGE, f"{COMPARE}/compare.json",
              run_cross_judge),
        Stage("behaviour (base vs adapter)", BEHAVIOUR, "metrics.json", run_behaviour),
        Stage("train refine (gender)", "refine-gender", "metrics.json", run_refine),
        Stage("guard examples", "guard", "guard_examples.json", run_guard),
    ]


def run_demo(config: DemoConfig, stages: list[Stage] | None = None) -> Path:
    """Run every stage not yet done (all of them with ``overwrite``), then write the report.
    Returns the path of ``report.md``."""
    from fairguard.demo.report import write_report

    stages = build_stages() if stages is None else stages
    check_settings(config)
    config.out.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    timings: dict[str, float] = {}
    timings_path = config.out / "timings.json"
    if timings_path.is_file() and not config.overwrite:
        timings = json.loads(timings_path.read_text())
    for k, stage in enumerate(stages, 1):
        head = f"[stage {k}/{len(stages)}] {stage.name}"
        if stage.done(config) and not config.overwrite:
            log.info(f"{head}: done already ({stage.path(config)}), skipped")
            continue
        log.info(f"{head} -> {stage.path(config)}  (elapsed {time.monotonic() - start:.0f} s)")
        t0 = time.monotonic()
        stage.run(config)
        timings[stage.name] = round(time.monotonic() - t0, 1)
        timings_path.write_text(json.dumps(timings, indent=2))
        log.info(f"{head}: finished in {timings[stage.name]:.0f} s "
                   f"(elapsed {time.monotonic() - start:.0f} s)")
    report = write_report(config.out, quick=config.quick, timings=timings)
    log.info(f"report: {report}  (total {time.monotonic() - start:.0f} s)")
    return report
