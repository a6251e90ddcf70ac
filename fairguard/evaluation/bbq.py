"""BBQ-style multiple-choice evaluation of a causal or masked LM by option log-likelihood, or
of a reward model (the judge) as an answer picker.

Each option is scored by the LM's mean log-probability per option token (length-normalised, so
long options are not penalised for their length) and the highest-scoring option is the
prediction (ties go to the lower index).

* causal LM: ``log p(" " + option | context + "\\nQuestion: " + question + "\\nAnswer:")``, the
  prompt tokenised with the tokenizer's own special tokens (e.g. BOS), the option without;
* masked LM: the pseudo-log-likelihood (Salazar et al. 2020) of the option tokens in
  ``prompt + " " + option`` tokenised as one text with the tokenizer's special tokens (the
  option tokens are those whose characters lie in the option): each option token is masked in
  turn and scored. Needs a fast tokenizer (offset mappings);
* judge (a reward-model folder): the sum of its heads for the answer ``option + "."`` to the
  question asked with its options (:func:`fairguard.evaluation.behaviour_sets.choice_prompt`,
  the prompt ``fairguard eval behaviour`` gives a policy): the option the judge would reward
  most, which is what a policy trained against it learns to answer.

``--data unqover`` asks the UnQover test split of ``fairguard.data.unqover.build_unqover(0)``
(held-out subjects and attributes; ambiguous and disambiguated). Its rows name no stereotyped
option, so only accuracies and the share of "cannot be determined" picks are reported for it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from fairguard.artifacts import write_jsonl
from fairguard.errors import ArtifactError, ConfigError
from fairguard.evaluation.report import markdown_table, write_report
from fairguard.metrics.bbq import BBQExample, bbq_bias_scores, load_bbq

LM_KINDS = ("auto", "causal", "masked", "judge")
UNQOVER_DATA = "unqover"  # --data value: the UnQover test split


def prompt_text(example: BBQExample) -> str:
    """The text the option is appended to."""
    return f"{example.context}\nQuestion: {example.question}\nAnswer:"


def load_option_scorer(name: str, kind: str = "auto") -> tuple[Any, Any, str]:
    """Load ``(model, tokenizer, kind)``; ``auto`` picks masked for ``*ForMaskedLM`` configs."""
    if kind not in LM_KINDS:
        raise ConfigError(f"lm kind must be one of {', '.join(LM_KINDS)}, got {kind!r}")
    from fairguard.models import load_causal_lm, load_masked_lm, load_model_config

    if kind == "judge" or (kind == "auto" and is_reward_model(name)):
        from fairguard.registry import get_reward
        from fairguard.scoring import REWARD_MODEL

        return get_reward(REWARD_MODEL, path=name), None, "judge"
    if kind == "auto":
        archs = load_model_config(name).architectures or []
        kind = "masked" if any(a.endswith("ForMaskedLM") for a in archs) else "causal"
    if kind == "causal":
        model, tokenizer = load_causal_lm(name)
        return model, tokenizer, kind
    model, tokenizer = load_masked_lm(name, fill_pad=True)
    if tokenizer.mask_token_id is None:
        raise ConfigError(f"{name!r} has no mask token; it is not a masked LM (use --lm-kind causal)")
    return model, tokenizer, kind


def is_reward_model(name: str) -> bool:
    """Whether ``name`` is a reward-model folder (torch or an ONNX export)."""
    from fairguard.artifacts import read_metadata
    from fairguard.reward_model.model import KIND

    try:
        return read_metadata(name).get("kind") == KIND
    except ArtifactError:
        return False


def judge_option_scores(reward: Any, examples: Sequence[BBQExample], *, batch_size: int = 16,
                        progress: bool = True) -> list[np.ndarray]:
    """The sum of the reward's heads for each option answered alone, one array per example."""
    from fairguard.evaluation.behaviour_sets import choice_prompt
    from fairguard.evaluation.judge import score_cases

    prompts = [choice_prompt(ex) for ex in examples for _ in ex.options]
    answers = [option.strip().rstrip(".") + "." for ex in examples for option in ex.options]
    heads = score_cases(reward, prompts, answers, chunk=batch_size * 4, progress=progress)
    total = np.sum(list(heads.values()), axis=0)
    out, start = [], 0
    for ex in examples:
        out.append(np.asarray(total[start:start + len(ex.options)], dtype=np.float64))
        start += len(ex.options)
    return out


def load_examples(data: str) -> list[BBQExample]:
    """A BBQ-style JSONL file, or ``unqover``: the UnQover test split (ambiguous, then
    disambiguated)."""
    if data != UNQOVER_DATA:
        return load_bbq(data)
    from fairguard.data.unqover import build_unqover
    from fairguard.metrics.multiple_choice import unqover_example

    rows = build_unqover(0)[0]
    return [unqover_example(r) for r in rows["test"] + rows["disambig_test"]]


def _causal_scores(model: Any, tokenizer: Any, examples: Sequence[BBQExample], batch_size: int,
                   max_length: int, progress: bool) -> list[np.ndarray]:
    import torch
    from tqdm.auto import tqdm

    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    items = []  # (example index, option index, prompt ids, option ids)
    for e, ex in enumerate(examples):
        prompt_ids = tokenizer(prompt_text(ex))["input_ids"]
        for o, option in enumerate(ex.options):
            option_ids = tokenizer(" " + option.strip(), add_special_tokens=False)["input_ids"]
            if not option_ids:
                raise ConfigError(f"example {ex.id!r}: option {option!r} tokenises to nothing")
            keep = max(1, max_length - len(option_ids))
            items.append((e, o, prompt_ids[-keep:], option_ids))
    scores = [np.zeros(len(ex.options)) for ex in examples]
    for start in tqdm(range(0, len(items), batch_size), desc="scoring options", unit="batch",
                      disable=not progress):
        batch = items[start:start + batch_size]
        seqs = [p + o for _, _, p, o in batch]
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for r, seq in enumerate(seqs):
            ids[r, :len(seq)] = torch.tensor(seq)
            mask[r, :len(seq)] = 1
        with torch.no_grad():
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
        logp = torch.log_softmax(logits, dim=-1).cpu()
        for r, (e, o, p, opt) in enumerate(batch):
            positions = torch.arange(len(p) - 1, len(p) + len(opt) - 1)
            token_logp = logp[r, positions, torch.tensor(opt)]
            scores[e][o] = float(token_logp.mean())
    return scores


def _masked_scores(model: Any, tokenizer: Any, examples: Sequence[BBQExample], batch_size: int,
                   max_length: int, progress: bool) -> list[np.ndarray]:
    import torch
    from tqdm.auto import tqdm

    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    mask_id = tokenizer.mask_token_id
    items = []  # (example, option, full ids, masked position, true token)
    n_tokens = [np.zeros(len(ex.options), dtype=int) for ex in examples]
    for e, ex in enumerate(examples):
        prompt = prompt_text(ex) + " "
        for o, option in enumerate(ex.options):
            enc = tokenizer(prompt + option.strip(), return_offsets_mapping=True,
                            return_special_tokens_mask=True)
            full = enc["input_ids"]
            positions = [i for i, ((begin, _), special) in
                         enumerate(zip(enc["offset_mapping"], enc["special_tokens_mask"]))
                         if not special and begin >= len(prompt)]
            if not positions:
                raise ConfigError(f"example {ex.id!r}: option {option!r} tokenises to nothing")
            if len(full) > max_length:
                raise ConfigError(f"example {ex.id!r} has {len(full)} tokens with option {option!r}, "
                                  f"more than {max_length}; shorten its context")
            for pos in positions:
                items.append((e, o, full, pos, full[pos]))
            n_tokens[e][o] = len(positions)
    sums = [np.zeros(len(ex.options)) for ex in examples]
    for start in tqdm(range(0, len(items), batch_size), desc="scoring options", unit="batch",
                      disable=not progress):
        batch = items[start:start + batch_size]
        width = max(len(full) for _, _, full, _, _ in batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for r, (_, _, full, pos, _) in enumerate(batch):
            ids[r, :len(full)] = torch.tensor(full)
            ids[r, pos] = mask_id
            mask[r, :len(full)] = 1
        with torch.no_grad():
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
        logp = torch.log_softmax(logits, dim=-1).cpu()
        for r, (e, o, _, pos, token) in enumerate(batch):
            sums[e][o] += float(logp[r, pos, token])
    return [s / n for s, n in zip(sums, n_tokens)]


def option_scores(model: Any, tokenizer: Any, examples: Sequence[BBQExample], kind: str, *,
                  batch_size: int = 16, max_length: int = 512, progress: bool = True) -> list[np.ndarray]:
    """Mean log-probability per option token, one array (one value per option) per example."""
    if kind not in ("causal", "masked"):
        raise ConfigError(f"kind must be 'causal' or 'masked', got {kind!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
    fn = _causal_scores if kind == "causal" else _masked_scores
    return fn(model, tokenizer, list(examples), batch_size, max_length, progress)


def predict(scores: Sequence[np.ndarray]) -> list[int]:
    """The highest-scoring option of each example (lowest index on ties)."""
    return [int(np.argmax(s)) for s in scores]


@dataclass(frozen=True)
class BBQEvalConfig:
    """Options of ``fairguard eval bbq``."""

    model: str = field(metadata={
        "help": "Causal or masked LM (embedded name, folder or hub id), or a reward-model folder "
                "(the judge picks the option it scores highest)."})
    data: str = field(metadata={
        "help": "BBQ-style JSONL file, or 'unqover' (the UnQover test split: held-out subjects "
                "and attributes)."})
    out: str = field(metadata={
        "help": "Output folder (metrics.json, metrics.md, predictions.jsonl)."})
    lm_kind: str = field(default="auto", metadata={
        "help": "How options are scored (auto: judge for a reward-model folder, else from the "
                "model config).",
        "choices": LM_KINDS})
    batch_size: int = field(default=16, metadata={"help": "Sequences per forward pass."})
    limit: int | None = field(default=None, metadata={
        "help": "Evaluate only the first N examples."})
    overwrite: bool = field(default=False, metadata={"help": "Replace an existing --out folder."})

    def __post_init__(self) -> None:
        if self.lm_kind not in LM_KINDS:
            raise ConfigError(f"lm_kind must be one of {', '.join(LM_KINDS)}, got {self.lm_kind!r}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {self.batch_size}")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"limit must be a positive integer, got {self.limit}")


def bbq_markdown(title: str, metrics: dict[str, Any]) -> str:
    """Overall and per-category accuracy, bias scores and counts."""
    def row(name: str, m: dict[str, Any]) -> list[Any]:
        return [name, m["n"], m["accuracy"], m["ambig"]["accuracy"], m["disambig"]["accuracy"],
                m["s_dis"], m["s_amb"]]

    rows = [row("all", metrics)] + [row(cat, m) for cat, m in metrics["by_category"].items()]
    unknown = metrics.get("picked_unknown") or {}
    picked = ("" if not unknown else "Picked the unknown option: "
              + ", ".join(f"{c} {v:.3f}" for c, v in unknown.items() if v is not None) + ".\n\n")
    return (f"# {title}\n\n" + picked +
            "bias = 2 x stereotyped / non-unknown answers - 1; s_dis = bias on disambiguated "
            "contexts; s_amb = (1 - accuracy on ambiguous) x bias on ambiguous contexts.\n\n"
            + markdown_table(["category", "n", "accuracy", "acc ambig", "acc disambig", "s_dis", "s_amb"],
                             rows))


def unknown_shares(examples: Sequence[BBQExample], predictions: Sequence[int]) -> dict[str, Any]:
    """Share of predictions that are the unknown option, per context condition."""
    out: dict[str, Any] = {}
    for condition in ("ambig", "disambig"):
        picks = [p == ex.unknown_option for ex, p in zip(examples, predictions)
                 if ex.context_condition == condition]
        out[condition] = sum(picks) / len(picks) if picks else None
    return out


def _drop_bias_scores(metrics: dict[str, Any]) -> None:
    for part in [metrics, *metrics.get("by_category", {}).values()]:
        part["s_dis"] = part["s_amb"] = None
        for condition in ("ambig", "disambig"):
            if isinstance(part.get(condition), dict):
                part[condition]["bias_score"] = None


def run_bbq_eval(config: BBQEvalConfig, progress: bool = True) -> dict[str, Any]:
    """``fairguard eval bbq``: score every option, predict, write metrics.json / metrics.md /
    predictions.jsonl into ``config.out``; returns the metrics."""
    from fairguard.artifacts import atomic_output_dir

    with atomic_output_dir(config.out, config.overwrite) as tmp:
        examples = load_examples(config.data)
        if config.limit is not None:
            examples = examples[:config.limit]
        model, tokenizer, kind = load_option_scorer(config.model, config.lm_kind)
        started = time.perf_counter()
        if kind == "judge":
            scores = judge_option_scores(model, examples, batch_size=config.batch_size,
                                         progress=progress)
        else:
            scores = option_scores(model, tokenizer, examples, kind, batch_size=config.batch_size,
                                   progress=progress)
        predictions = predict(scores)
        seconds = time.perf_counter() - started
        unqover = config.data == UNQOVER_DATA
        metrics = {"kind": "bbq-eval", "model": config.model, "lm_kind": kind,
                   "data": UNQOVER_DATA if unqover else str(Path(config.data).resolve()),
                   **bbq_bias_scores(examples, predictions),
                   "picked_unknown": unknown_shares(examples, predictions),
                   "scoring": ("sum of the reward heads for the option as the answer"
                               if kind == "judge" else "mean log-probability per option token"),
                   "seconds": round(seconds, 2)}
        if unqover:  # no stereotyped option is named: the bias scores would mean nothing
            _drop_bias_scores(metrics)
        write_report(tmp, metrics, bbq_markdown(f"BBQ-style bias of {config.model}", metrics))
        write_jsonl(tmp / "predictions.jsonl", [
            {"id": ex.id, "category": ex.category, "context_condition": ex.context_condition,
             "prediction": pred, "label": ex.label, "stereotyped_option": ex.stereotyped_option,
             "unknown_option": ex.unknown_option, "option_scores": s.tolist()}
            for ex, pred, s in zip(examples, predictions, scores)])
    return metrics


__all__ = ["BBQEvalConfig", "bbq_markdown", "is_reward_model", "judge_option_scores",
           "load_examples", "load_option_scorer", "option_scores", "predict", "prompt_text",
           "run_bbq_eval", "unknown_shares"]
