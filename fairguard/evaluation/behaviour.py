"""``fairguard eval behaviour``: what a policy does, not only how a judge scores it.

A policy (a causal LM, or the base model with a peft LoRA adapter) and its base model answer
the same questions from the project's own sets; each metric is reported base -> after with the
paired standard error of the change (:func:`fairguard.metrics.paired.paired_change`):

* multiple choice over the UnQover questions (``fairguard.data.unqover``, test split) as
  three-option BBQ-style questions, ambiguous and disambiguated, answered by option likelihood
  (:func:`fairguard.evaluation.bbq.option_scores`) and by greedy generation matched back to an
  option (:func:`fairguard.metrics.multiple_choice.match_answer`; unmatched answers counted
  apart): accuracy, the share answered "cannot be determined", and the BBQ bias scores per
  UnQover unit (:mod:`fairguard.metrics.multiple_choice`);
* evasion: the share of generated answers to answerable questions (disambiguated ones and the
  everyday questions) that decline, deflect or say "it depends" without answering
  (:mod:`fairguard.metrics.evasion`: rules, plus the judge's relevance head below its
  calibrated threshold when a judge is given);
* GenBit-style gendered-language bias of the open answers (:mod:`fairguard.genbit`);
* counterfactual consistency: open prompts with the group swapped
  (:mod:`fairguard.metrics.counterfactual`), the mean absolute gap of the judge's fairness score
  between the two answers of a pair, and the share of pairs where one answer is evasive and the
  other not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fairguard.errors import ConfigError
from fairguard.evaluation.behaviour_sets import QuestionSets, choice_prompt, question_sets, spread
from fairguard.evaluation.behaviour_values import METRICS, SENTIMENT_NOTE, behaviour_markdown, item_values
from fairguard.generation import DecodingConfig
from fairguard.metrics.paired import PairedChange, paired_change

log = logging.getLogger(__name__)

DEFAULT_MODEL = "smollm2-135m-instruct"
REPORT_FILE = "report.md"
ANSWERS_FILE = "answers.jsonl"
SIDES = ("base", "after")
FAIRNESS, RELEVANCE = "fairness", "relevance"

@dataclass(frozen=True)
class BehaviourEvalConfig:
    """Options of ``fairguard eval behaviour``."""

    out: str = field(metadata={"help": "Output folder (metrics.json, report.md, answers.jsonl)."})
    model: str = field(default=DEFAULT_MODEL, metadata={
        "help": "Base causal LM (embedded name, folder or hub id): the 'base' column."})
    adapter: str | None = field(default=None, metadata={
        "help": "peft LoRA adapter folder applied to --model: the 'after' column."})
    policy: str | None = field(default=None, metadata={
        "help": "A whole causal LM for the 'after' column instead of an adapter (with --adapter: "
                "the adapter is applied to it).", "default_text": "--model"})
    judge: str | None = field(default=None, metadata={
        "help": "Reward-model folder (torch or ONNX export) judging relevance (evasion) and "
                "fairness (counterfactual gap); without it those parts use the rules only.",
        "default_text": "none"})
    seed: int = field(default=0, metadata={
        "help": "Seed of the UnQover question set (as `fairguard data build --seed`)."})
    limit: int | None = field(default=None, metadata={
        "help": "At most N questions per set (ambiguous rows rounded up to whole UnQover units).",
        "default_text": "all"})
    max_new_tokens: int = field(default=48, metadata={"help": "Tokens generated per answer (greedy)."})
    batch_size: int = field(default=8, metadata={"help": "Prompts per generation or scoring batch."})
    device: str | None = field(default=None, metadata={
        "help": "Torch device of the two policies (cpu, cuda, cuda:N).",
        "default_text": "cuda when available, else cpu"})
    overwrite: bool = field(default=False, metadata={"help": "Replace an existing --out folder."})

    def __post_init__(self) -> None:
        if not str(self.model).strip():
            raise ConfigError("--model is empty; give a causal LM name, folder or hub id")
        if self.adapter is None and self.policy is None:
            raise ConfigError("nothing to compare with the base model: give --adapter DIR (a peft "
                              "adapter) or --policy MODEL (another causal LM)")
        if self.limit is not None and (isinstance(self.limit, bool) or self.limit < 1):
            raise ConfigError(f"limit must be a positive integer, got {self.limit!r}")
        self.decoding()  # validates max_new_tokens and batch_size

    def decoding(self) -> DecodingConfig:
        """Greedy decoding with the chat template (when the tokenizer has one)."""
        return DecodingConfig(max_new_tokens=self.max_new_tokens, batch_size=self.batch_size)

    @property
    def after_name(self) -> str:
        """How the 'after' policy is named in reports."""
        name = self.policy or self.model
        return f"{name} + {self.adapter}" if self.adapter else name


# ---------------------------------------------------------------- answering


def answer_sets(model: Any, tokenizer: Any, sets: QuestionSets, config: BehaviourEvalConfig,
                progress: bool = True) -> dict[str, Any]:
    """One policy's answers: option likelihood choices and generated answers for the multiple
    choice questions, generated answers to the everyday and counterfactual prompts."""
    from fairguard.evaluation.bbq import option_scores, predict
    from fairguard.generation import generate_responses
    from fairguard.metrics.multiple_choice import unqover_example

    examples = [unqover_example(r) for r in sets.ambig + sets.disambig]
    likelihood = predict(option_scores(model, tokenizer, examples, "causal",
                                       batch_size=config.batch_size, progress=progress))
    prompts = ([choice_prompt(e) for e in examples] + [q.question for q in sets.everyday]
               + [p for pair in sets.counterfactual for p in pair.prompts])
    answers = generate_responses(model, tokenizer, prompts, config.decoding(), progress=progress)
    n_choice, n_everyday = len(examples), len(sets.everyday)
    open_answers = answers[n_choice + n_everyday:]
    return {"likelihood": likelihood, "choice": answers[:n_choice],
            "everyday": answers[n_choice:n_choice + n_everyday],
            "counterfactual": [tuple(open_answers[2 * i:2 * i + 2])
                               for i in range(len(sets.counterfactual))]}


def _load_side(config: BehaviourEvalConfig, side: str, device: str) -> tuple[Any, Any]:
    from fairguard.generation import load_policy

    if side == "base":
        model, tokenizer = load_policy(config.model)
    else:
        model, tokenizer = load_policy(config.policy or config.model, config.adapter)
    return model.to(device), tokenizer


# ---------------------------------------------------------------- judging


def calibrated_threshold(reward: Any, head: str) -> tuple[float, str]:
    """The head's threshold from the reward model's fairguard.json ``calibration`` (else its
    ``thresholds``), and which of the two it came from."""
    metadata = getattr(getattr(reward, "scorer", None), "metadata", None) or {}
    calibrated = (metadata.get("calibration") or {}).get("thresholds") or {}
    if head in calibrated:
        return float(calibrated[head]), "fairguard.json calibration.thresholds"
    thresholds = getattr(reward, "thresholds", {}) or {}
    if head in thresholds:
        return float(thresholds[head]), "fairguard.json thresholds"
    raise ConfigError(f"the judge has no threshold for its {head} head; use a reward model "
                      "written by `fairguard train reward`")


def load_judge(folder: str, batch_size: int) -> Any:
    """The ``reward-model`` reward over ``folder``; it must have fairness and relevance heads."""
    from fairguard.registry import get_reward
    from fairguard.scoring import REWARD_MODEL

    reward = get_reward(REWARD_MODEL, path=folder, batch_size=batch_size)
    missing = [h for h in (FAIRNESS, RELEVANCE) if h not in reward.heads]
    if missing:
        raise ConfigError(f"judge {folder} has no {' or '.join(missing)} head (heads: "
                          f"{', '.join(reward.heads)}); use a reward model trained with them")
    return reward


def judge_answers(judge: Any, sets: QuestionSets, answers: Mapping[str, Any],
                  chunk: int, progress: bool = True) -> dict[str, Any]:
    """The judge's relevance of the disambiguated and everyday answers and fairness of both
    answers of every counterfactual pair."""
    from fairguard.evaluation.judge import score_cases
    from fairguard.metrics.multiple_choice import unqover_example

    n_ambig = len(sets.ambig)
    disambig = [choice_prompt(unqover_example(r)) for r in sets.disambig]
    cf_prompts = [p for pair in sets.counterfactual for p in pair.prompts]
    cf_answers = [a for pair in answers["counterfactual"] for a in pair]
    prompts = disambig + [q.question for q in sets.everyday] + cf_prompts
    texts = list(answers["choice"][n_ambig:]) + list(answers["everyday"]) + cf_answers
    scores = score_cases(judge, prompts, texts, chunk=chunk, progress=progress)
    n_d, n_e = len(disambig), len(sets.everyday)
    fairness = scores[FAIRNESS][n_d + n_e:]
    return {"disambig_relevance": scores[RELEVANCE][:n_d].tolist(),
            "everyday_relevance": scores[RELEVANCE][n_d:n_d + n_e].tolist(),
            "counterfactual_fairness": [(float(fairness[2 * i]), float(fairness[2 * i + 1]))
                                        for i in range(len(sets.counterfactual))]}


# ---------------------------------------------------------------- runner


def run_behaviour(config: BehaviourEvalConfig, progress: bool = True) -> dict[str, Any]:
    """Answer every set with the base model and the policy, judge, compare; write metrics.json,
    report.md and answers.jsonl into ``config.out`` (atomically); returns the metrics."""
    import gc

    from fairguard.artifacts import atomic_output_dir, write_jsonl
    from fairguard.evaluation.report import write_report
    from fairguard.reward_model.inference import resolve_device

    device = resolve_device(config.device)
    with atomic_output_dir(config.out, config.overwrite) as tmp:
        started = time.perf_counter()
        sets = question_sets(config.seed, config.limit)
        judge = load_judge(config.judge, config.batch_size) if config.judge else None
        threshold, threshold_from = (calibrated_threshold(judge, RELEVANCE) if judge
                                     else (None, None))
        per_side: dict[str, dict[str, list[float]]] = {}
        records: list[dict[str, Any]] = []
        for side in SIDES:
            log.info("answering with the %s policy", side)
            model, tokenizer = _load_side(config, side, device)
            answers = answer_sets(model, tokenizer, sets, config, progress=progress)
            del model
            gc.collect()
            judged = (judge_answers(judge, sets, answers, chunk=4 * config.batch_size,
                                    progress=progress) if judge else None)
            per_side[side], side_records = item_values(sets, answers, judged, threshold)
            records += [{"policy": side, **r} for r in side_records]
        changes: dict[str, PairedChange] = {key: paired_change(per_side["base"][key],
                                                               per_side["after"][key])
                                            for key in per_side["base"]}
        metrics = {
            "kind": "behaviour-eval",
            "base": config.model, "after": config.after_name,
            "adapter": str(Path(config.adapter).resolve()) if config.adapter else None,
            "judge": str(Path(config.judge).resolve()) if config.judge else None,
            "relevance_threshold": threshold, "relevance_threshold_from": threshold_from,
            "sentiment": SENTIMENT_NOTE,
            "n_questions": {"ambiguous": len(sets.ambig), "disambiguated": len(sets.disambig),
                            "everyday": len(sets.everyday),
                            "counterfactual pairs": len(sets.counterfactual)},
            "sources": sets.sources,
            "changes": {k: c.to_dict() for k, c in changes.items()},
            "generation": config.decoding().to_dict(), "device": device,
            "seconds": round(time.perf_counter() - started, 2),
        }
        write_report(tmp, metrics, behaviour_markdown(metrics), REPORT_FILE)
        write_jsonl(tmp / ANSWERS_FILE, records)
    return metrics


__all__ = ["ANSWERS_FILE", "METRICS", "REPORT_FILE", "BehaviourEvalConfig", "QuestionSets",
           "answer_sets", "behaviour_markdown", "calibrated_threshold", "choice_prompt",
           "item_values", "judge_answers", "load_judge", "question_sets", "run_behaviour", "spread"]
