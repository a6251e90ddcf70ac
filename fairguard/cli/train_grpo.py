"""``fairguard train grpo``: GRPO / REINFORCE training of a debiasing LoRA adapter."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click


@click.command(name="grpo")
@click.option("--model", help="Policy LM: embedded name, folder or hub id [smollm2-135m-instruct].")
@click.option("--out", required=True, type=click.Path(), help="Output folder (the peft adapter).")
@click.option("--reward-model", "reward_model", type=click.Path(),
              help="Trained reward-model folder; its heads (fairness, relevance, fluency) become rewards.")
@click.option("--reward", "rewards",
              help="Reward weights, e.g. fairness=1,relevance=0.5,fluency=0.5,gender-bias=0.3 "
                   "[gender-bias=1 without --reward-model].")
@click.option("--algorithm", type=click.Choice(["grpo", "reinforce"]), help="[grpo]")
@click.option("--data", type=click.Path(), help="Dataset folder from `fairguard data build` "
              "(train split for training, test split held out) [built-in prompts].")
@click.option("--max-steps", type=int, help="Optimizer steps [40].")
@click.option("--config", "config_path", type=click.Path(), help="YAML file of options (flags override it).")
@click.option("--loss-type", type=click.Choice(["grpo", "dr_grpo", "dapo"]), help="[grpo]")
@click.option("--scale-rewards", type=click.Choice(["group", "batch", "none"]), help="[group]")
@click.option("--reward-aggregation", type=click.Choice(["sum", "product", "decoupled"]),
              help="Heads -> one reward: weighted sum, weighted product (every head must be high), "
                   "or decoupled (GDPO: each head normalised in its group, then summed) "
                   "[decoupled; product with --algorithm reinforce].")
@click.option("--num-generations", type=int, help="Completions per prompt G [4].")
@click.option("--prompts-per-step", type=int, help="Prompts per step and process B [4].")
@click.option("--max-new-tokens", type=int, help="Completion length limit [32].")
@click.option("--temperature", type=float, help="Sampling temperature [0.7].")
@click.option("--beta", type=float, help="KL coefficient (GRPO) [0.04]; TRL's default is 0.")
@click.option("--epsilon", type=float, help="Clip range [0.2].")
@click.option("--num-iterations", type=int, help="Updates per sampled batch [1].")
@click.option("--kl-lambda", type=float, help="KL weight inside the REINFORCE reward [0.1].")
@click.option("--baseline", type=click.Choice(["none", "mean"]), help="REINFORCE baseline [none].")
@click.option("--gradient-accumulation-steps", type=int, help="Micro-batches per step [1].")
@click.option("--learning-rate", "--lr", "learning_rate", type=float, help="[2e-4].")
@click.option("--lr-schedule", type=click.Choice(["constant", "linear", "cosine"]), help="[constant].")
@click.option("--lora-r", type=int, help="[16].")
@click.option("--lora-alpha", type=int, help="[32].")
@click.option("--lora-targets", help="Comma list of module names [q_proj,k_proj,v_proj,o_proj].")
@click.option("--save-every", type=int, help="Checkpoint every N steps [10].")
@click.option("--eval-prompts", type=int, help="Held-out prompts for before/after evaluation [32].")
@click.option("--no-eval", "no_eval", is_flag=True, default=False, help="Skip before/after evaluation.")
@click.option("--seed", type=int, help="[0].")
@click.option("--policy", type=click.Choice(["causal", "diffusion"]),
              help="Policy family: causal LM, or a masked LM sampled as a masked-diffusion LM "
                   "(seed 003 / LLaDA; docs/diffusion.md) [causal].")
@click.option("--diffusion-steps", type=int,
              help="Diffusion: denoising iterations per answer, split evenly over the blocks "
                   "[max-new-tokens].")
@click.option("--block-length", type=int, help="Diffusion: tokens per block, filled left to right "
              "[max-new-tokens].")
@click.option("--remasking", type=click.Choice(["low_confidence", "random"]),
              help="Diffusion: which predictions stay masked each iteration [low_confidence].")
@click.option("--diffusion-logprob", type=click.Choice(["clean", "masked"]),
              help="Diffusion: log-prob estimate of an answer; clean = seed 003's pass over the "
                   "finished answer, masked = fully masked pass (ELBO t=1 term) [clean].")
@click.option("--cfg-scale", type=float, help="Diffusion: classifier-free guidance; only 0 [0].")
@click.option("--mask-token-id", type=int, help="Diffusion: mask token id [the tokenizer's].")
@click.option("--model-dtype", type=click.Choice(["float32", "bfloat16", "float16"]),
              help="Weights dtype when loading the model [float32].")
@click.option("--trust-remote-code", "trust_remote_code", is_flag=True, default=False,
              help="Diffusion: allow a model's own Python code (needed for LLaDA). Off by default.")
@click.option("--resume", is_flag=True, help="Continue the killed run that was writing --out.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out (and any unfinished run).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def grpo(out: str, config_path: str | None, resume: bool, overwrite: bool, quiet: bool,
         no_eval: bool, trust_remote_code: bool, **options: Any) -> None:
    """Train a LoRA adapter with GRPO (or seed 003's REINFORCE) on weighted reward plugins.

    The policy is a causal LM, or with --policy diffusion a masked LM sampled by seed 003's
    masked-diffusion sampler (LLaDA-style). Runs on CPU or GPU unchanged, and under `accelerate launch` / `torchrun` for several
    processes (DDP).
    """
    from fairguard.config import build_config
    from fairguard.training.config import GRPOConfig
    from fairguard.training.trainer import train

    if no_eval:
        options["eval"] = False
    if trust_remote_code:
        options["trust_remote_code"] = True
    config = build_config(GRPOConfig, config_path, **options)
    path = train(config, out, overwrite=overwrite, resume=resume, progress=not quiet)
    if int(os.environ.get("RANK", "0")) == 0:
        _report(path)


def _report(path: Any) -> None:
    """Print the before/after table of the held-out evaluation."""
    metrics = json.loads((Path(path) / "metrics.json").read_text())
    before, after = metrics.get("before"), metrics.get("after")
    if before and after:
        paired = metrics.get("change_paired") or {}
        click.echo(f"held-out evaluation ({after['n']} prompts): head  before -> after  (change ± se)")
        for head, value in before["heads"].items():
            line = f"  {head:<14} {value:.3f} -> {after['heads'].get(head, float('nan')):.3f}"
            if head in paired:
                line += f"  ({paired[head]['change']:+.3f} ± {paired[head]['se']:.3f})"
            click.echo(line)
    click.echo(f"wrote {path}")
