"""GRPO training throughput: fairguard's trainer vs TRL's GRPOTrainer, same model, data and settings.

Both train a LoRA adapter (same r, alpha, targets) with the same prompts, reward (the built-in
``gender-bias`` plugin), B prompts x G completions per step, completion length, beta, loss type,
learning rate and temperature, one optimizer step per generation batch. Each trainer runs
``--steps`` steps; the first step (warm-up) is not timed. The two alternate for ``--rounds``
rounds so that background load hits both alike; the median per-step time is reported.

    python benchmarks/grpo_throughput.py [--model tiny|NAME] [--steps 6] [--rounds 2] [--threads 1]

Prints one JSON object: steps/s and completion tokens/s of each, and the ratio fairguard / TRL.
Needs ``trl`` (test-only dependency, trl==0.26.2).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _tiny_model(folder: Path) -> str:
    from fairguard.testing import save_tiny, tiny_causal_lm

    return str(save_tiny(*tiny_causal_lm(), folder / "tiny"))


def run_fairguard(model: str, args: argparse.Namespace, out: Path) -> dict[str, float]:
    from fairguard.training import GRPOConfig
    from fairguard.training.prompts import BUILTIN_PROMPTS
    from fairguard.training.trainer import Trainer

    cfg = GRPOConfig(model=model, prompts_per_step=args.prompts, num_generations=args.generations,
                     max_new_tokens=args.max_new_tokens, beta=0.04, loss_type="grpo",
                     reward_aggregation="sum",  # TRL's definition (one reward: all three agree)
                     learning_rate=1e-5, lora_r=16, lora_alpha=32, lora_targets="q_proj,v_proj",
                     max_steps=args.steps, save_every=10_000, eval=False, rewards="gender-bias=1")
    trainer = Trainer(cfg, out, progress=False, train_prompts=list(BUILTIN_PROMPTS)).setup()
    times, tokens = [], []
    for step in range(args.steps):
        start = time.perf_counter()
        row = trainer.train_step(step)
        times.append(time.perf_counter() - start)
        tokens.append(row["tokens"])
    return {"step_s": statistics.median(times[1:]), "tokens_per_step": statistics.mean(tokens[1:])}


def run_trl(model: str, args: argparse.Namespace, out: Path) -> dict[str, float]:
    import numpy as np
    import trl
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import TrainerCallback

    from fairguard.models import load_causal_lm
    from fairguard.registry import get_reward
    from fairguard.training.prompts import BUILTIN_PROMPTS

    reward = get_reward("gender-bias")

    def gender_bias(prompts, completions, **kwargs):
        return list(np.asarray(reward.score(prompts, completions)["gender-bias"], dtype=float))

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.times: list[float] = []
            self._start = 0.0

        def on_step_begin(self, *a, **k):
            self._start = time.perf_counter()

        def on_step_end(self, *a, **k):
            self.times.append(time.perf_counter() - self._start)

    policy, tokenizer = load_causal_lm(model)
    n = args.prompts * args.generations
    config = trl.GRPOConfig(
        output_dir=str(out), per_device_train_batch_size=n, gradient_accumulation_steps=1,
        num_generations=args.generations, max_completion_length=args.max_new_tokens, beta=0.04,
        loss_type="grpo", scale_rewards="group", learning_rate=1e-5, temperature=1.0,
        max_steps=args.steps, logging_steps=1, save_strategy="no", report_to=[], use_cpu=True,
        bf16=False, disable_tqdm=True, seed=0)
    timer = StepTimer()
    trainer = trl.GRPOTrainer(
        model=policy, reward_funcs=gender_bias, args=config, processing_class=tokenizer,
        train_dataset=Dataset.from_dict({"prompt": list(BUILTIN_PROMPTS)}),
        peft_config=LoraConfig(r=16, lora_alpha=32, target_modules=["q_proj", "v_proj"],
                               task_type="CAUSAL_LM"),
        callbacks=[timer])
    trainer.train()
    lengths = [row["completions/mean_length"] for row in trainer.state.log_history
               if "completions/mean_length" in row]
    return {"step_s": statistics.median(timer.times[1:]),
            "tokens_per_step": statistics.mean(lengths[1:]) * n}


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny", help="'tiny' (random, built in code) or a model name")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--prompts", type=int, default=4, help="prompts per step B")
    parser.add_argument("--generations", type=int, default=4, help="completions per prompt G")
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for this process (1 is steadier on a busy machine)")
    args = parser.parse_args(argv)
    import torch
    import trl

    if args.threads:
        torch.set_num_threads(args.threads)

    results: dict[str, list[dict[str, float]]] = {"fairguard": [], "trl": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        model = _tiny_model(tmp_path) if args.model == "tiny" else args.model
        for r in range(args.rounds):
            results["fairguard"].append(run_fairguard(model, args, tmp_path / f"fg{r}"))
            results["trl"].append(run_trl(model, args, tmp_path / f"trl{r}"))

    def summary(rows: list[dict[str, float]]) -> dict[str, float]:
        step_s = statistics.median(r["step_s"] for r in rows)
        tokens = statistics.mean(r["tokens_per_step"] for r in rows)
        return {"steps_per_s": round(1 / step_s, 3), "s_per_step": round(step_s, 4),
                "completion_tokens_per_step": round(tokens, 1),
                "tokens_per_s": round(tokens / step_s, 1)}

    fg, tr = summary(results["fairguard"]), summary(results["trl"])
    report = {
        "model": args.model, "steps": args.steps, "rounds": args.rounds,
        "prompts_per_step": args.prompts, "num_generations": args.generations,
        "max_new_tokens": args.max_new_tokens, "torch_threads": torch.get_num_threads(),
        "trl_version": trl.__version__, "fairguard": fg, "trl": tr,
        "ratio_steps_per_s": round(fg["steps_per_s"] / tr["steps_per_s"], 3),
        "ratio_tokens_per_s": round(fg["tokens_per_s"] / tr["tokens_per_s"], 3),
    }
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
