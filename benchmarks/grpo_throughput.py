"""GRPO training throughput: fairguard's trainer vs TRL's GRPOTrainer, same model, data and settings.

Both train the same LoRA adapter (r 16, alpha 32, fairguard's default targets q/k/v/o) with the
same chat-formatted prompts, reward (the built-in ``gender-bias`` plugin), B prompts x G
completions per step, completion length, temperature, beta, loss type and learning rate, one
optimizer step per generation batch. Each trainer runs ``--steps`` steps; the first step
(warm-up) is not timed. The two alternate for ``--rounds`` rounds so that background load hits
both alike; the median per-step time is reported, with steps/s, completion tokens/s and the
ratio fairguard / TRL.

The fairguard step is also split into phases (sampling, reference log-probs, policy forward,
backward, rewards, optimizer, the rest = Python and bookkeeping) and set against its compute
estimate: the FLOPs of sampling (prompt prefill + one decoding pass per generated position),
the policy forward, its backward (activation gradients only: the base weights are frozen, so
about one forward) and the reference forward, at this machine's measured fp32 GFLOP/s
(``flop_limit.measure_gflops``).

    python benchmarks/grpo_throughput.py --model smollm2-135m-instruct --steps 3 --rounds 2 \
        --threads 2 [--results]

Prints one JSON object. Needs ``trl`` (test-only dependency, trl==0.26.2).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flop_limit import measure_gflops

SECTION = "## GRPO step: fairguard vs TRL"
TINY_SECTION = "## GRPO throughput"  # the tiny random model: what a step costs besides its matmuls
TARGETS = "q_proj,k_proj,v_proj,o_proj"


@dataclass(frozen=True)
class DecoderShape:
    """What the FLOP count of a decoder LM needs from its config."""

    layers: int
    hidden: int
    intermediate: int
    kv_dim: int
    vocab: int

    @classmethod
    def of(cls, config: Any) -> DecoderShape:
        heads = int(config.num_attention_heads)
        head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // heads)
        kv_heads = int(getattr(config, "num_key_value_heads", None) or heads)
        return cls(int(config.num_hidden_layers), int(config.hidden_size),
                   int(config.intermediate_size), kv_heads * head_dim, int(config.vocab_size))

    def linear_params(self) -> int:
        """Weights of the per-token matrix products of all layers (q, k, v, o, gated MLP)."""
        h = self.hidden
        return self.layers * (2 * h * h + 2 * h * self.kv_dim + 3 * h * self.intermediate)

    def forward_flops(self, tokens: int, logit_tokens: int, context: float) -> float:
        """One forward over ``tokens`` tokens attending to ``context`` positions on average,
        with logits at ``logit_tokens`` positions."""
        attention = 4 * self.layers * self.hidden * context * tokens  # QK^T and attention x V
        return 2.0 * self.linear_params() * tokens + 2.0 * self.hidden * self.vocab * logit_tokens \
            + attention


def step_flops(shape: DecoderShape, rows: int, prompts: int, prompt_len: float,
               completion_len: float, decode_steps: int) -> dict[str, float]:
    """FLOPs of one GRPO step's passes: ``rows`` = B x G completions of ``prompts`` = B distinct
    prompts (mean lengths in tokens). Each prompt counted once per distinct prompt when
    ``prompts`` < ``rows`` (the work the step needs), once per completion when equal."""
    prefill = shape.forward_flops(round(prompts * prompt_len), prompts, prompt_len / 2)
    decode = sum(shape.forward_flops(rows, rows, prompt_len + t) for t in range(decode_steps))
    full = (shape.forward_flops(round(prompts * prompt_len), 0, prompt_len / 2)
            + shape.forward_flops(round(rows * completion_len), round(rows * completion_len),
                                  prompt_len + completion_len / 2))
    return {"sampling": prefill + decode, "policy_forward": full, "backward": full,
            "reference": full}


def decode_gflops(shape: DecoderShape, rows: int, rounds: int = 3, prepacked: bool = True) -> float:
    """fp32 GFLOP/s of one decoding step's matrix products (every layer's q, k, v, o and MLP
    weights, distinct as in the model, then the LM head) on ``rows`` rows: skinny products that
    read every weight once per generated token, slower than the large product of
    ``measure_gflops``. ``prepacked``: run them as the sampler does (``decoding_linears``:
    weights prepacked by oneDNN where available); else as plain ``F.linear``."""
    import torch

    from fairguard.training.rollout import decoding_linears

    h, kv, inter = shape.hidden, shape.kv_dim, shape.intermediate
    layer = [(h, h), (kv, h), (kv, h), (h, h), (inter, h), (inter, h), (h, inter)]
    dims = [(o, i) for _ in range(shape.layers) for o, i in layer] + [(shape.vocab, h)]
    linears = torch.nn.ModuleList(torch.nn.Linear(i, o, bias=False) for o, i in dims)
    inputs = {i: torch.randn(rows, i) for i in (h, inter)}
    best = float("inf")
    with torch.no_grad(), decoding_linears(linears, rows) if prepacked else contextlib.nullcontext():
        for _ in range(rounds + 1):  # the first round warms up
            start = time.perf_counter()
            for linear, (_, i) in zip(linears, dims):
                linear(inputs[i])
            best = min(best, time.perf_counter() - start)
    return 2.0 * rows * sum(o * i for o, i in dims) / best / 1e9


class PhaseTimer:
    """Wall time per phase of a step, by wrapping the methods that do each phase."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, owner: Any, name: str, phase: str) -> None:
        inner: Callable[..., Any] = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds[phase] += time.perf_counter() - start

        setattr(owner, name, timed)

    def take(self) -> dict[str, float]:
        out, self.seconds = dict(self.seconds), defaultdict(float)
        return out


def _tiny_model(folder: Path) -> str:
    from fairguard.testing import save_tiny, tiny_causal_lm

    return str(save_tiny(*tiny_causal_lm(), folder / "tiny"))


def run_fairguard(model: str, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    from fairguard.config import build_config
    from fairguard.training import GRPOConfig
    from fairguard.training.prompts import BUILTIN_PROMPTS
    from fairguard.training.trainer import Trainer

    cfg = build_config(
        GRPOConfig, model=model, prompts_per_step=args.prompts, num_generations=args.generations,
        max_new_tokens=args.max_new_tokens, temperature=args.temperature, beta=0.04,
        loss_type="grpo", reward_aggregation="sum",  # TRL's definition (one reward: all agree)
        learning_rate=1e-5, lora_r=16, lora_alpha=32, lora_targets=args.lora_targets,
        max_steps=args.steps, save_every=10_000, eval=False, rewards="gender-bias=1",
        mixed_precision=args.mixed_precision, model_dtype=args.model_dtype,
        sampling_dtype=args.sampling_dtype)
    trainer = Trainer(cfg, out, progress=False, train_prompts=list(BUILTIN_PROMPTS)).setup()
    timer = PhaseTimer()
    timer.wrap(trainer.policy, "sample", "sampling")
    timer.wrap(trainer.policy, "reference_logprobs", "reference")
    timer.wrap(trainer.policy, "policy_logprobs", "old_logprobs")
    timer.wrap(trainer.policy, "completion_logprobs", "policy_forward")
    timer.wrap(trainer.accelerator, "backward", "backward")
    timer.wrap(trainer, "_score", "rewards")
    timer.wrap(trainer.optimizer, "step", "optimizer")
    steps = []
    for step in range(args.steps):
        start = time.perf_counter()
        row = trainer.train_step(step)
        seconds = time.perf_counter() - start
        batch = trainer._batch
        steps.append({"s": seconds, "tokens": row["tokens"], "phases": timer.take(),
                      "rows": len(batch.rollout.prompts), "prompts": len(set(batch.rollout.prompts)),
                      "prompt_len": float(batch.rollout.prompt_mask.sum()) / len(batch.rollout.prompts),
                      "decode_steps": int(batch.rollout.completion_ids.shape[1])})
    timed = steps[1:] or steps
    return {"step_s": statistics.median(s["s"] for s in timed),
            "tokens_per_step": statistics.mean(s["tokens"] for s in timed), "steps": timed,
            "config": trainer.peft_model.config}


def run_trl(model: str, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    import numpy as np
    import trl
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import TrainerCallback

    from fairguard.models import load_causal_lm, torch_dtype
    from fairguard.registry import get_reward
    from fairguard.training.prompts import BUILTIN_PROMPTS

    reward = get_reward("gender-bias")

    def gender_bias(prompts, completions, **kwargs):
        def text(x):  # conversational prompts and completions are lists of messages
            return x[-1]["content"] if isinstance(x, list) else x

        scores = reward.score([text(p) for p in prompts], [text(c) for c in completions])
        return list(np.asarray(scores["gender-bias"], dtype=float))

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.times: list[float] = []
            self._start = 0.0

        def on_step_begin(self, *a, **k):
            self._start = time.perf_counter()

        def on_step_end(self, *a, **k):
            self.times.append(time.perf_counter() - self._start)

    policy, tokenizer = load_causal_lm(model, torch_dtype=torch_dtype(args.model_dtype))
    n = args.prompts * args.generations
    config = trl.GRPOConfig(
        output_dir=str(out), per_device_train_batch_size=n, gradient_accumulation_steps=1,
        num_generations=args.generations, max_completion_length=args.max_new_tokens, beta=0.04,
        loss_type="grpo", scale_rewards="group", learning_rate=1e-5,
        temperature=args.temperature, max_steps=args.steps, logging_steps=1, save_strategy="no",
        report_to=[], use_cpu=True, bf16=args.mixed_precision == "bf16", disable_tqdm=True, seed=0,
        disable_dropout=True)
    timer = StepTimer()
    # conversational prompts make TRL apply the chat template, as fairguard does when there is one
    prompts = ([[{"role": "user", "content": p}] for p in BUILTIN_PROMPTS]
               if getattr(tokenizer, "chat_template", None) else list(BUILTIN_PROMPTS))
    trainer = trl.GRPOTrainer(
        model=policy, reward_funcs=gender_bias, args=config, processing_class=tokenizer,
        train_dataset=Dataset.from_dict({"prompt": prompts}),
        peft_config=LoraConfig(r=16, lora_alpha=32, target_modules=args.lora_targets.split(","),
                               task_type="CAUSAL_LM"),
        callbacks=[timer])
    trainer.train()
    lengths = [row["completions/mean_length"] for row in trainer.state.log_history
               if "completions/mean_length" in row]
    return {"step_s": statistics.median(timer.times[1:] or timer.times),
            "tokens_per_step": statistics.mean(lengths[1:] or lengths) * n}


def _summary(rows: list[dict[str, Any]]) -> dict[str, float]:
    step_s = statistics.median(r["step_s"] for r in rows)
    tokens = statistics.mean(r["tokens_per_step"] for r in rows)
    return {"steps_per_s": round(1 / step_s, 4), "s_per_step": round(step_s, 3),
            "completion_tokens_per_step": round(tokens, 1), "tokens_per_s": round(tokens / step_s, 2)}


def compute_estimate(fg_rows: list[dict[str, Any]], gflops: float) -> dict[str, Any]:
    """Phases of the median fairguard step against their FLOPs at ``gflops`` (and sampling's
    decoding passes also at the GFLOP/s of their skinny matrix products)."""
    steps = sorted((s for r in fg_rows for s in r["steps"]), key=lambda s: s["s"])
    step = steps[len(steps) // 2]
    shape = DecoderShape.of(fg_rows[0]["config"])
    args = (step["prompt_len"], step["tokens"] / step["rows"], step["decode_steps"])
    flops = step_flops(shape, step["rows"], step["rows"], *args)  # every completion's prompt
    needed = step_flops(shape, step["rows"], step["prompts"], *args)  # each prompt once
    decode_flops = needed["sampling"] - step_flops(shape, step["rows"], step["prompts"],
                                                   step["prompt_len"], 0.0, 0)["sampling"]
    decode = decode_gflops(shape, step["rows"])  # as the sampler runs them
    decode_plain = decode_gflops(shape, step["rows"], prepacked=False)
    phases = {k: round(v, 3) for k, v in step["phases"].items()}
    phases["other"] = round(step["s"] - sum(step["phases"].values()), 3)
    limit_s = sum(flops.values()) / gflops / 1e9
    needed_s = sum(needed.values()) / gflops / 1e9
    return {"step_s": round(step["s"], 3), "phases_s": phases,
            "gflop": {k: round(v / 1e9, 1) for k, v in flops.items()},
            "limit_s": {k: round(v / gflops / 1e9, 3) for k, v in flops.items()},
            "compute_limit_s": round(limit_s, 3), "ratio_to_limit": round(step["s"] / limit_s, 2),
            "shared_prompt_limit_s": round(needed_s, 3),
            "ratio_to_shared_prompt_limit": round(step["s"] / needed_s, 2),
            "decode_gflops": round(decode, 1), "decode_gflops_plain_linear": round(decode_plain, 1),
            "sampling_limit_at_decode_rate_s": round(
                (needed["sampling"] - decode_flops) / gflops / 1e9 + decode_flops / decode / 1e9, 3)}


def markdown(report: dict[str, Any], command: str) -> str:
    fg, tr, est = report["fairguard"], report.get("trl"), report["compute"]
    header = (f"`{command}` ({report['date']}, load average {report['load_before']} before, "
              f"{report['load_after']} after; torch threads {report['torch_threads']}, "
              f"{report['gflops']:.1f} GFLOP/s fp32 measured; B x G = {report['prompts_per_step']} "
              f"x {report['num_generations']}, {report['max_new_tokens']} new tokens, temperature "
              f"{report['temperature']}, beta 0.04, LoRA r 16 on {report['lora_targets']}, mixed "
              f"precision {report.get('mixed_precision', 'no')}, weights "
              f"{report.get('model_dtype', 'float32')}, fairguard's sampling weights "
              f"{report.get('sampling_dtype', 'float32')}).")
    lines = [TINY_SECTION if report["model"] == "tiny" else SECTION, "", header,
             "",
             "| trainer | s/step | steps/s | completion tokens/s |", "|---|---|---|---|",
             f"| fairguard | {fg['s_per_step']} | {fg['steps_per_s']} | {fg['tokens_per_s']} |"]
    if tr:
        lines.append(f"| TRL {report['trl_version']} | {tr['s_per_step']} | {tr['steps_per_s']} | "
                     f"{tr['tokens_per_s']} |")
        ratio = (f"fairguard / TRL: {report['ratio_steps_per_s']}x steps/s, "
                 f"{report['ratio_tokens_per_s']}x tokens/s.")
        lines += ["", ratio]
    lines += ["", "| phase of the median fairguard step | measured s | GFLOP | limit s |",
              "|---|---|---|---|"]
    phase_flops = {"sampling": "sampling", "policy_forward": "policy_forward",
                   "backward": "backward", "reference": "reference"}
    for phase, seconds in est["phases_s"].items():
        key = phase_flops.get(phase)
        gflop = est["gflop"][key] if key else "–"
        limit = est["limit_s"][key] if key else "–"
        lines.append(f"| {phase} | {seconds} | {gflop} | {limit} |")
    closing = (f"Step {est['step_s']} s against a compute limit of {est['compute_limit_s']} s "
               f"(every completion's prompt counted, as TRL runs it): ratio "
               f"{est['ratio_to_limit']}; against {est['shared_prompt_limit_s']} s (each prompt "
               f"once, as fairguard runs it): ratio {est['ratio_to_shared_prompt_limit']}. "
               f"Sampling's decoding products run {est['decode_gflops']} GFLOP/s on "
               f"{report['prompts_per_step'] * report['num_generations']} rows as the sampler "
               f"runs them (weights prepacked by oneDNN; {est['decode_gflops_plain_linear']} "
               f"GFLOP/s as plain F.linear), each weight read once per generated token, which "
               f"puts sampling's own limit at "
               f"{est['sampling_limit_at_decode_rate_s']} s.")
    lines += ["", closing, ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny", help="'tiny' (random, built in code) or a model name")
    parser.add_argument("--steps", type=int, default=3, help="steps per trainer and round (first untimed)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--prompts", type=int, default=4, help="prompts per step B")
    parser.add_argument("--generations", type=int, default=4, help="completions per prompt G")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--temperature", type=float, default=0.7, help="fairguard's default")
    parser.add_argument("--lora-targets", default=TARGETS, help="fairguard's default")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for this process (1 is steadier on a busy machine)")
    parser.add_argument("--mixed-precision", choices=("no", "bf16"), default="no",
                        help="both trainers: bf16 autocast (on a CPU, fast only with AMX)")
    parser.add_argument("--model-dtype", choices=("float32", "bfloat16"), default="float32",
                        help="both trainers: the dtype the base weights are loaded in")
    parser.add_argument("--sampling-dtype", choices=("float32", "bfloat16"), default="float32",
                        help="fairguard only: the dtype of its decoding weights (TRL samples with "
                             "the model's own)")
    parser.add_argument("--skip-trl", action="store_true", help="time and profile fairguard only")
    parser.add_argument("--results", action="store_true",
                        help="write the table into RESULTS.md (its tiny-model section for --model tiny)")
    args = parser.parse_args(argv)
    import torch
    import trl

    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    load_before = round(os.getloadavg()[0], 1)
    gflops = measure_gflops(threads)
    results: dict[str, list[dict[str, Any]]] = {"fairguard": [], "trl": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        model = _tiny_model(tmp_path) if args.model == "tiny" else args.model
        for r in range(args.rounds):
            results["fairguard"].append(run_fairguard(model, args, tmp_path / f"fg{r}"))
            if not args.skip_trl:
                results["trl"].append(run_trl(model, args, tmp_path / f"trl{r}"))

    fg = _summary(results["fairguard"])
    report: dict[str, Any] = {
        "model": args.model, "steps": args.steps, "rounds": args.rounds,
        "prompts_per_step": args.prompts, "num_generations": args.generations,
        "max_new_tokens": args.max_new_tokens, "temperature": args.temperature,
        "lora_targets": args.lora_targets, "mixed_precision": args.mixed_precision,
        "model_dtype": args.model_dtype, "sampling_dtype": args.sampling_dtype,
        "torch_threads": threads, "gflops": round(gflops, 1),
        "trl_version": trl.__version__, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_before": load_before, "load_after": round(os.getloadavg()[0], 1),
        "fairguard": fg, "compute": compute_estimate(results["fairguard"], gflops),
    }
    if results["trl"]:
        tr = _summary(results["trl"])
        report.update(trl=tr, ratio_steps_per_s=round(fg["steps_per_s"] / tr["steps_per_s"], 3),
                      ratio_tokens_per_s=round(fg["tokens_per_s"] / tr["tokens_per_s"], 3))
    print(json.dumps(report, indent=2))
    if args.results:
        from results_md import write_section

        command = "python benchmarks/grpo_throughput.py " + " ".join(argv if argv is not None
                                                                     else sys.argv[1:])
        write_section(markdown(report, command), TINY_SECTION if args.model == "tiny" else SECTION)
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
