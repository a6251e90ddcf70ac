"""The GRPO / REINFORCE LoRA training loop: setup, train, save_checkpoint.

Runs on one CPU, one GPU (bf16 where supported) or several processes under
``accelerate launch`` / ``torchrun`` (DDP) with the same code: an ``Accelerator`` places the
model and synchronises gradients. Each process samples its own prompts; rewards are gathered so
that advantages (and the REINFORCE baseline) are computed on the whole step batch, as TRL does.
What differs between GRPO and REINFORCE lives in ``algorithms.py``; what differs between causal
and masked-diffusion policies in ``policy.py``.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from fairguard.artifacts import atomic_output_dir, creatable_parent, read_jsonl, write_jsonl
from fairguard.errors import ArtifactError, ConfigError, FairguardError, PluginError
from fairguard.evaluation.held_out import evaluate_policy
from fairguard.loops import seed_everything
from fairguard.scoring import TOTAL, WeightedRewards
from fairguard.training import checkpoint as ckpt
from fairguard.training.aggregation import aggregate_rewards, check_weights
from fairguard.training.algorithms import StepBatch, make_algorithm
from fairguard.training.artifact import (
    ARTIFACT_KIND,
    METRICS_JSONL,
    adapter_digest,
    write_adapter,
)
from fairguard.training.config import RESUME_KEYS, GRPOConfig
from fairguard.training.losses import summarize
from fairguard.training.policy import Policy, make_policy
from fairguard.training.prompts import held_out_sample, load_prompts, step_prompts
from fairguard.training.rewards import build_rewards
from fairguard.training.rollout import Rollout


def step_seed(seed: int, step: int, rank: int) -> int:
    """The RNG seed of one step on one process (makes resumed runs repeat the straight run)."""
    return ((seed * 1_000_003 + step) * 1_009 + rank) % (2**63)


class Trainer:
    """Trains a LoRA adapter on ``config.model`` and writes the adapter artifact to ``out``.

    ``policy`` (a :class:`~fairguard.training.policy.Policy`, default from ``config.policy``)
    loads the model, samples rollouts and scores their tokens: a causal LM or a masked-diffusion
    LM, with the same loop. After :meth:`setup`, ``peft_model`` is the LoRA-wrapped model and
    ``model`` the same model as the accelerator prepared it (DDP-wrapped under a launcher).
    """

    rewards: WeightedRewards  # set by setup(): the given rewards, or built from the config
    train_prompts: list[str]  # set by setup(): the given prompts, or loaded from config.data
    eval_prompts: list[str]

    def __init__(self, config: GRPOConfig, out: str | Path, *, overwrite: bool = False,
                 resume: bool = False, progress: bool = True,
                 rewards: WeightedRewards | None = None,
                 train_prompts: Sequence[str] | None = None,
                 eval_prompts: Sequence[str] | None = None, policy: Policy | None = None):
        self.config = config
        self.policy = policy if policy is not None else make_policy(config)
        self.algorithm = make_algorithm(config)
        self.out = Path(out)
        self.run_dir = ckpt.run_dir(self.out)
        self.overwrite = overwrite
        self.resume = resume
        self.progress = progress
        self._given_rewards = rewards
        self._given_prompts = (None if train_prompts is None else list(train_prompts),
                               None if eval_prompts is None else list(eval_prompts))
        self.start_step = 0
        self.before: dict[str, Any] | None = None
        self.last_checkpoint: Path | None = None
        self.history: list[dict[str, Any]] = []
        self._batch: StepBatch | None = None  # the rollout reused over num_iterations

    # ------------------------------------------------------------------ setup
    def setup(self) -> Trainer:
        """Load model, adapter, optimizer, rewards and prompts; resume from a checkpoint if asked."""
        from accelerate import Accelerator

        cfg = self.config
        cuda = torch.cuda.is_available()
        precision = cfg.mixed_precision
        if precision == "auto":
            precision = "bf16" if cuda and torch.cuda.is_bf16_supported() else "no"
        self.accelerator = Accelerator(mixed_precision=precision, cpu=not cuda)
        self._check_output()
        self.accelerator.wait_for_everyone()  # every process checked before anything is created
        self.rewards = (self._given_rewards if self._given_rewards is not None
                        else build_rewards(cfg.rewards, cfg.reward_model, cfg.reward_ensemble, cfg.data,
                                      cfg.reward_options))
        check_weights(self.rewards.weights, cfg.reward_aggregation)
        train, held_out = self._given_prompts
        if train is None or held_out is None:
            loaded_train, loaded_held_out = load_prompts(cfg.data, cfg.seed, cfg.keyed_share)
            train = train if train is not None else loaded_train
            held_out = held_out if held_out is not None else loaded_held_out
        if not train:
            raise ConfigError("no training prompts")
        self.train_prompts = train
        self.eval_prompts = held_out_sample(held_out, cfg.eval_prompts, cfg.seed)
        self._build_model()
        checkpoint = ckpt.latest_checkpoint(self.run_dir) if self.resume and self.run_dir.exists() else None
        if checkpoint is not None:
            self._resume_from(checkpoint)
        elif self.accelerator.is_main_process:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            self.run_dir.mkdir(parents=True)
        self.accelerator.wait_for_everyone()
        return self

    def _check_output(self) -> None:
        if self.out.exists() and not self.overwrite:
            raise ArtifactError(f"{self.out} already exists; choose another --out or pass --overwrite")
        if self.run_dir.exists() and not (self.resume or self.overwrite):
            raise ArtifactError(f"an unfinished run of {self.out} is in {self.run_dir}; pass --resume "
                                "to continue it or --overwrite to start over")
        creatable_parent(self.out)  # an --out nobody can write fails now, not after training

    def _build_model(self) -> None:
        from peft import LoraConfig, get_peft_model
        from transformers import get_scheduler

        cfg = self.config
        seed_everything(cfg.seed)
        base, tokenizer = self.policy.load()
        targets = self.policy.lora_targets(base)
        lora = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                          target_modules=targets, task_type=self.policy.task_type)
        try:
            model = get_peft_model(base, lora)
        except ValueError as exc:
            raise ConfigError(f"LoRA targets {targets} do not fit {cfg.model!r}: {exc}") from exc
        self.lora_targets = targets
        self.tokenizer = tokenizer
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        schedule: str = cfg.lr_schedule
        if schedule == "constant" and cfg.warmup_steps:
            schedule = "constant_with_warmup"
        # the scheduler stays unprepared: it steps once per optimizer step on every process
        self.scheduler = get_scheduler(schedule, optimizer, num_warmup_steps=cfg.warmup_steps,
                                       num_training_steps=cfg.max_steps)
        self.model, self.optimizer = self.accelerator.prepare(model, optimizer)
        self.params = params

    @property
    def peft_model(self) -> Any:
        """The peft model without the DDP wrapper (for generation and no-grad passes)."""
        return self.accelerator.unwrap_model(self.model)

    def _resume_from(self, checkpoint: Path) -> None:
        saved = ckpt.read_state(checkpoint)
        old = saved.get("config", {})
        now = self.config.to_dict()
        changed = [k for k in RESUME_KEYS if k in old and old[k] != now[k]]
        if changed:
            raise ConfigError(
                f"--resume with different settings than the run in {self.run_dir}: "
                + ", ".join(f"{k} {old[k]!r} -> {now[k]!r}" for k in changed)
                + "; use the original settings or start over with --overwrite"
            )
        state = ckpt.load_checkpoint(checkpoint, self.peft_model, self.optimizer, self.scheduler)
        self.start_step = int(state["step"])
        self.before = state.get("before")
        self.last_checkpoint = checkpoint
        metrics = self.run_dir / METRICS_JSONL
        if metrics.is_file():
            self.history = [r for r in read_jsonl(metrics) if r["step"] <= self.start_step]
        self.accelerator.wait_for_everyone()
        if self.accelerator.is_main_process:
            write_jsonl(metrics, self.history)

    # ------------------------------------------------------------------ train
    def train(self) -> Path:
        """Run until ``max_steps``; write the artifact to ``out`` and return its path."""
        from tqdm.auto import tqdm

        cfg = self.config
        acc = self.accelerator
        if self.before is None and cfg.eval:
            self.before = self._evaluate()
        bar = tqdm(total=cfg.max_steps, initial=self.start_step, desc=f"{cfg.algorithm} training",
                   disable=not (self.progress and acc.is_main_process), unit="step")
        for step in range(self.start_step, cfg.max_steps):
            try:
                row = self.train_step(step)
            except FairguardError as exc:
                bar.close()
                raise self._stopped(exc, step) from exc
            self.history.append(row)
            if acc.is_main_process:
                write_jsonl(self.run_dir / METRICS_JSONL, [row], append=True)
            postfix = {"reward": f"{row['rewards'][TOTAL]['mean']:.3f}", "loss": f"{row['loss']:.4f}"}
            if "kl" in row:
                postfix["kl"] = f"{row['kl']:.4f}"
            bar.set_postfix(postfix)
            bar.update(1)
            done = step + 1
            # checkpoints fall on whole sampled batches (num_iterations); the last step is saved
            # too, so that a kill during the final evaluation only repeats the evaluation
            if done % cfg.num_iterations == 0 and (done % cfg.save_every == 0 or done == cfg.max_steps):
                self.save_checkpoint(done)
        bar.close()
        after = self._evaluate() if cfg.eval else None
        return self._write_artifact(after)

    def train_step(self, step: int) -> dict[str, Any]:
        """One optimizer update (sampling a new batch every ``num_iterations`` steps)."""
        cfg = self.config
        acc = self.accelerator
        started = time.perf_counter()
        if step % cfg.num_iterations == 0 or self._batch is None:
            self._batch = self.make_batch(step)
        batch = self._batch
        micro = batch.micro_batch
        self.model.train()
        losses: list[float] = []
        stats: dict[str, list[float]] = {}
        for k in range(cfg.gradient_accumulation_steps):
            rows = slice(k * micro, (k + 1) * micro)
            part = batch.rollout.slice(rows.start, rows.stop)
            last = k == cfg.gradient_accumulation_steps - 1
            with contextlib.nullcontext() if last else acc.no_sync(self.model), acc.autocast():
                logps = self.policy.completion_logprobs(
                    self.model, part.prompt_ids, part.prompt_mask, part.completion_ids,
                    part.completion_mask, temperature=cfg.temperature)
                loss, part_stats = self.algorithm.loss(logps, batch, rows, part.completion_mask,
                                                       acc.num_processes)
                if not torch.isfinite(loss):
                    raise FairguardError(f"the loss became {float(loss)} at step {step + 1}; lower the "
                                         "learning rate or check the rewards")
                acc.backward(loss)
            losses.append(float(loss.detach()))
            for key, value in part_stats.items():
                stats.setdefault(key, []).append(value)
        grad_norm = acc.clip_grad_norm_(self.params, cfg.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        row: dict[str, Any] = {
            "step": step + 1, "loss": self._mean_over_processes(sum(losses)),
            "rewards": batch.rewards, "grad_norm": float(grad_norm),
            "lr": self.scheduler.get_last_lr()[0], "completion_length": batch.completion_length,
            "tokens": int(batch.num_tokens),
        }
        for key, values in stats.items():
            row[key] = self._mean_over_processes(sum(values) / len(values))
        row.update(batch.logged)
        row["step_time_s"] = round(time.perf_counter() - started, 4)
        row["sample"] = {"prompt": batch.rollout.prompts[0], "completion": batch.rollout.completions[0]}
        return row

    def make_batch(self, step: int) -> StepBatch:
        """Sample, score and prepare one step's completions (the algorithm adds its tensors)."""
        cfg = self.config
        acc = self.accelerator
        torch.manual_seed(step_seed(cfg.seed, step, acc.process_index))
        prompts = step_prompts(self.train_prompts, step, cfg.prompts_per_step, cfg.seed,
                               acc.process_index, acc.num_processes)
        rollout = self.policy.sample(self.peft_model, self.tokenizer, prompts, cfg.num_generations,
                                     cfg.max_new_tokens, cfg.temperature, cfg.top_p)
        scores = self._score(rollout)
        heads = list(scores)
        local = torch.tensor([[float(v) for v in col] for col in zip(*[scores[h] for h in heads])],
                             dtype=torch.float32, device=acc.device)
        table = self.gather(local)  # (N_all, H)
        if cfg.reward_aggregation != "sum":  # "total" becomes the reward that is optimised
            table[:, heads.index(TOTAL)] = aggregate_rewards(table, heads, self.rewards.weights,
                                                             cfg.reward_aggregation)
        n = len(rollout.prompts)
        lengths = self.gather(rollout.completion_mask.sum(-1).float())
        batch = StepBatch(rollout=rollout, micro_batch=n // cfg.gradient_accumulation_steps,
                          rewards={h: summarize(table[:, i]) for i, h in enumerate(heads)},
                          completion_length=float(lengths.mean()), num_tokens=float(lengths.sum()))
        mine = slice(acc.process_index * n, (acc.process_index + 1) * n)
        self.algorithm.prepare(self, batch, table, heads, mine)
        return batch

    def _score(self, rollout: Rollout) -> dict[str, Any]:
        """Score the rollout on this process; if any process failed, every process raises."""
        acc = self.accelerator
        error: FairguardError | None = None
        scores: dict[str, Any] = {}
        try:
            scores = self.rewards.score(rollout.prompts, rollout.completions)
        except FairguardError as exc:
            error = exc
        if acc.num_processes > 1:
            failed = acc.gather(torch.tensor([1.0 if error else 0.0], device=acc.device))
            if error is None and failed.sum() > 0:
                error = FairguardError("a reward plugin failed on another process (see its log)")
        if error is not None:
            raise error
        return scores

    def gather(self, values: torch.Tensor) -> torch.Tensor:
        """``values`` of every process, concatenated (this process's alone when single)."""
        return self.accelerator.gather(values.contiguous()) if self.accelerator.num_processes > 1 else values

    def _mean_over_processes(self, value: float) -> float:
        return float(self.gather(torch.tensor([value], device=self.accelerator.device)).mean())

    def _stopped(self, exc: FairguardError, step: int) -> FairguardError:
        where = (f"the last good checkpoint is {self.last_checkpoint} (continue with --resume once "
                 "fixed)" if self.last_checkpoint else "no checkpoint was written yet")
        message = f"training stopped at step {step + 1}: {exc}; {where}"
        if isinstance(exc, PluginError):
            return PluginError(exc.plugin, message.replace(f"plugin {exc.plugin!r}: ", "", 1))
        try:
            return type(exc)(message)
        except TypeError:
            return FairguardError(message)

    # ------------------------------------------------------------- evaluation
    def _evaluate(self) -> dict[str, Any] | None:
        """Held-out evaluation on the main process (others wait)."""
        acc = self.accelerator
        result = None
        if acc.is_main_process and self.eval_prompts:
            cfg = self.config
            torch.manual_seed(cfg.seed)
            result = evaluate_policy(self.peft_model, self.tokenizer, self.eval_prompts, self.rewards,
                                     cfg.eval_max_new_tokens or cfg.max_new_tokens,
                                     generate=self.policy.evaluation_generator(self.peft_model,
                                                                              self.tokenizer))
        acc.wait_for_everyone()
        return result

    # ---------------------------------------------------------- checkpoints
    def save_checkpoint(self, step: int) -> Path | None:
        """Write checkpoint ``step`` (main process) atomically; every process waits for it."""
        acc = self.accelerator
        acc.wait_for_everyone()
        path = None
        if acc.is_main_process:
            state = {"config": self.config.to_dict(), "before": self.before}
            path = ckpt.save_checkpoint(self.run_dir, step, self.peft_model, self.optimizer,
                                        self.scheduler, state)
        acc.wait_for_everyone()
        self.last_checkpoint = ckpt.run_dir(self.out) / ckpt.CHECKPOINTS / f"step-{step:06d}"
        return path

    # -------------------------------------------------------------- artifact
    def _write_artifact(self, after: dict[str, Any] | None) -> Path:
        from accelerate.utils import gather_object

        acc = self.accelerator
        cfg = self.config
        digests = gather_object([adapter_digest(self.peft_model)])
        if acc.is_main_process:
            metadata = {
                "algorithm": cfg.algorithm, "base_model": cfg.model, "policy": cfg.policy,
                "lora_targets": self.lora_targets,
                "rewards": {"weights": self.rewards.weights, "heads": list(self.rewards.heads),
                            "plugins": [r.name for r in self.rewards.rewards]},
                "config": cfg.to_dict(), "steps": cfg.max_steps,
                "num_processes": acc.num_processes, "adapter_sha256_by_rank": digests,
                "max_new_tokens": cfg.max_new_tokens,
            }
            with atomic_output_dir(self.out, overwrite=self.overwrite) as tmp:
                write_adapter(tmp, self.peft_model, self.history, self.before, after, metadata)
            shutil.rmtree(self.run_dir, ignore_errors=True)
        acc.wait_for_everyone()
        return self.out


def train(config: GRPOConfig, out: str | Path, *, overwrite: bool = False, resume: bool = False,
          progress: bool = True, rewards: WeightedRewards | None = None,
          train_prompts: Sequence[str] | None = None,
          eval_prompts: Sequence[str] | None = None, policy: Policy | None = None) -> Path:
    """Train an adapter as ``config`` says and write it to ``out`` (see :class:`Trainer`)."""
    trainer = Trainer(config, out, overwrite=overwrite, resume=resume, progress=progress,
                      rewards=rewards, train_prompts=train_prompts, eval_prompts=eval_prompts,
                      policy=policy)
    return trainer.setup().train()


__all__ = ["ARTIFACT_KIND", "Trainer", "train"]
