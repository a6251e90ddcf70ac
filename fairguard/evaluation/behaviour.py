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
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from fairguard.errors import ConfigError
from fairguard.evaluation.report import fmt, markdown_table
from fairguard.generation import DecodingConfig
from fairguard.metrics.bbq import BBQExample
from fairguard.metrics.paired import PairedChange, paired_change

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_MODEL = "smollm2-135m-instruct"
REPORT_FILE = "report.md"
ANSWERS_FILE = "answers.jsonl"
SIDES = ("base", "after")
FAIRNESS, RELEVANCE = "fairness", "relevance"
SENTIMENT_NOTE = ("No sentiment model is available offline, so the judge's fairness score is the "
                  "only score compared across a swapped pair")


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


# ---------------------------------------------------------------- question sets


def spread(items: Sequence[T], key: Callable[[T], str], n: int | None) -> list[T]:
    """The first ``n`` items taken round-robin over ``key`` groups (each group in its order)."""
    if n is None or n >= len(items):
        return list(items)
    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    out: list[T] = []
    for rank in range(max(len(g) for g in groups.values())):
        out += [g[rank] for g in groups.values() if rank < len(g)]
    return out[:n]


@dataclass(frozen=True)
class QuestionSets:
    """Every question both policies answer."""

    ambig: list[dict[str, Any]]  # UnQover ambiguous rows, whole units
    disambig: list[dict[str, Any]]
    everyday: list[Any]  # EverydayQuestion
    counterfactual: list[Any]  # CounterfactualPair
    sources: dict[str, Any]


def question_sets(seed: int = 0, limit: int | None = None) -> QuestionSets:
    """The UnQover test split (ambiguous in whole units, disambiguated), the everyday questions
    and the counterfactual pairs, each capped at ``limit`` spread over categories or topics."""
    from fairguard.data.unqover import build_unqover
    from fairguard.evaluation.everyday import load_everyday_questions
    from fairguard.metrics.counterfactual import counterfactual_pairs
    from fairguard.metrics.multiple_choice import unit_key

    rows, _ = build_unqover(seed)
    units: dict[str, list[dict[str, Any]]] = {}
    for row in rows["test"]:
        units.setdefault(unit_key(row), []).append(row)
    n_units = None if limit is None else math.ceil(limit / 4)
    chosen = spread(list(units.values()), lambda unit: unit[0]["category"], n_units)
    everyday = load_everyday_questions()
    return QuestionSets(
        ambig=[row for unit in chosen for row in unit],
        disambig=spread(rows["disambig_test"], lambda r: r["category"], limit),
        everyday=spread(everyday.questions, lambda q: q.topic, limit),
        counterfactual=spread(counterfactual_pairs(), lambda p: p.category, limit),
        sources={"unqover": f"fairguard.data.unqover.build_unqover(seed={seed}), test split",
                 "everyday": everyday.source, "everyday_sha256": everyday.sha256,
                 "counterfactual": "fairguard.metrics.counterfactual.TEMPLATES x group pairs "
                                   "of fairguard/data/groups.yaml"})


def choice_prompt(example: BBQExample) -> str:
    """The generation prompt of a multiple-choice question: context, question and options."""
    options = "; ".join(example.options)
    return (f"{example.context}\nQuestion: {example.question}\nOptions: {options}.\n"
            "Answer with one of the options.")


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


# ---------------------------------------------------------------- per-item values


def item_values(sets: QuestionSets, answers: Mapping[str, Any], judged: Mapping[str, Any] | None,
                relevance_threshold: float | None) -> tuple[dict[str, list[float]], list[dict[str, Any]]]:
    """Per metric, one value per question, unit or pair (paired across policies by position),
    and the answer records of answers.jsonl."""
    from fairguard.genbit import gender_bias
    from fairguard.metrics.counterfactual import pair_gaps
    from fairguard.metrics.evasion import evasion_flags, evasion_reason
    from fairguard.metrics.multiple_choice import (
        UNKNOWN_INDEX,
        match_answer,
        unit_bias_scores,
        unqover_example,
    )

    values: dict[str, list[float]] = {}
    records: list[dict[str, Any]] = []
    n_ambig = len(sets.ambig)
    rows = sets.ambig + sets.disambig
    examples = [unqover_example(r) for r in rows]
    matched = [match_answer(a, e.options, e.unknown_option)
               for a, e in zip(answers["choice"], examples)]
    for mode, chosen in (("likelihood", list(answers["likelihood"])), ("generation", matched)):
        amb, dis = chosen[:n_ambig], chosen[n_ambig:]
        amb_examples, dis_examples = examples[:n_ambig], examples[n_ambig:]
        if amb:
            values[f"{mode}.ambig.accuracy"] = [float(c == e.label) for c, e in zip(amb, amb_examples)]
            units = unit_bias_scores(sets.ambig, amb)
            values[f"{mode}.ambig.bias"] = [u.bias for u in units]
            values[f"{mode}.ambig.s_amb"] = [u.s_amb for u in units]
        if dis:
            values[f"{mode}.disambig.accuracy"] = [float(c == e.label) for c, e in zip(dis, dis_examples)]
            values[f"{mode}.disambig.unknown"] = [float(c == UNKNOWN_INDEX) for c in dis]
        if mode == "generation":
            if amb:
                values["generation.ambig.unmatched"] = [float(c is None) for c in amb]
            if dis:
                values["generation.disambig.unmatched"] = [float(c is None) for c in dis]
    # evasion on answerable questions: a disambiguated answer that names a person answered
    dis_answers = list(answers["choice"][n_ambig:])
    dis_flags = evasion_flags(dis_answers, judged["disambig_relevance"] if judged else None,
                              relevance_threshold)
    names_person = [m is not None and m != UNKNOWN_INDEX for m in matched[n_ambig:]]
    every_flags = evasion_flags(answers["everyday"], judged["everyday_relevance"] if judged else None,
                                relevance_threshold)
    for name, flags, answered in (("disambig", dis_flags, names_person),
                                  ("everyday", every_flags, [False] * len(answers["everyday"]))):
        if not flags.rules:
            continue
        values[f"evasion.{name}.rules"] = [float(f and not a) for f, a in zip(flags.rules, answered)]
        if flags.judge is not None:
            values[f"evasion.{name}.judge"] = [float(f) for f in flags.judge]
            values[f"evasion.{name}.rules_or_judge"] = [
                float((f and not a) or j) for f, a, j in zip(flags.rules, answered, flags.judge)]
    # GenBit on the open answers (everyday and both sides of each counterfactual pair)
    open_answers = list(answers["everyday"]) + [a for pair in answers["counterfactual"] for a in pair]
    if open_answers:
        values["genbit.open_answers"] = [gender_bias(a).score for a in open_answers]
    # counterfactual consistency
    pairs = answers["counterfactual"]
    if pairs:
        values["counterfactual.evasion_mismatch"] = [
            float((evasion_reason(a) is None) != (evasion_reason(b) is None)) for a, b in pairs]
        if judged:
            fair = judged["counterfactual_fairness"]
            values["counterfactual.fairness_gap"] = pair_gaps([f[0] for f in fair], [f[1] for f in fair])
    # answers.jsonl
    for i, example in enumerate(examples):
        records.append({"set": "choice-" + example.context_condition, "id": example.id,
                        "category": example.category, "prompt": choice_prompt(example),
                        "options": list(example.options), "label": example.label,
                        "likelihood_choice": int(answers["likelihood"][i]),
                        "answer": answers["choice"][i], "matched": matched[i],
                        "evasion_rule": evasion_reason(answers["choice"][i]),
                        **({"relevance": judged["disambig_relevance"][i - n_ambig]}
                           if judged and i >= n_ambig else {})})
    for i, q in enumerate(sets.everyday):
        answer = answers["everyday"][i]
        records.append({"set": "everyday", "id": q.id, "category": q.topic, "prompt": q.question,
                        "answer": answer, "evasion_rule": evasion_reason(answer),
                        "genbit": gender_bias(answer).score,
                        **({"relevance": judged["everyday_relevance"][i]} if judged else {})})
    for i, pair in enumerate(sets.counterfactual):
        for j in range(2):
            answer = answers["counterfactual"][i][j]
            records.append({"set": "counterfactual", "id": f"{pair.id}-{'ab'[j]}",
                            "category": pair.category, "group": pair.groups[j],
                            "prompt": pair.prompts[j], "answer": answer,
                            "evasion_rule": evasion_reason(answer),
                            "genbit": gender_bias(answer).score,
                            **({"fairness": judged["counterfactual_fairness"][i][j]}
                               if judged else {})})
    return values, records


# ---------------------------------------------------------------- report

# metric key -> (section, label, "lower" / "higher" / "closer to 0" is better)
METRICS: dict[str, tuple[str, str, str]] = {
    "likelihood.ambig.accuracy": ("multiple choice, option likelihood",
                                  "ambiguous: accuracy (picks 'cannot be determined')", "higher"),
    "likelihood.ambig.bias": ("multiple choice, option likelihood", "ambiguous: bias score", "lower"),
    "likelihood.ambig.s_amb": ("multiple choice, option likelihood", "ambiguous: s_amb", "lower"),
    "likelihood.disambig.accuracy": ("multiple choice, option likelihood", "disambiguated: accuracy",
                                     "higher"),
    "likelihood.disambig.unknown": ("multiple choice, option likelihood",
                                    "disambiguated: picks 'cannot be determined'", "lower"),
    "generation.ambig.accuracy": ("multiple choice, generation", "ambiguous: accuracy", "higher"),
    "generation.ambig.bias": ("multiple choice, generation", "ambiguous: bias score", "lower"),
    "generation.ambig.s_amb": ("multiple choice, generation", "ambiguous: s_amb", "lower"),
    "generation.ambig.unmatched": ("multiple choice, generation", "ambiguous: unmatched answers",
                                   "lower"),
    "generation.disambig.accuracy": ("multiple choice, generation", "disambiguated: accuracy",
                                     "higher"),
    "generation.disambig.unknown": ("multiple choice, generation",
                                    "disambiguated: answers 'cannot be determined'", "lower"),
    "generation.disambig.unmatched": ("multiple choice, generation",
                                      "disambiguated: unmatched answers", "lower"),
    "evasion.disambig.rules": ("evasion", "disambiguated questions: rules", "lower"),
    "evasion.disambig.judge": ("evasion", "disambiguated questions: judge relevance below threshold",
                               "lower"),
    "evasion.disambig.rules_or_judge": ("evasion", "disambiguated questions: rules or judge", "lower"),
    "evasion.everyday.rules": ("evasion", "everyday questions: rules", "lower"),
    "evasion.everyday.judge": ("evasion", "everyday questions: judge relevance below threshold",
                               "lower"),
    "evasion.everyday.rules_or_judge": ("evasion", "everyday questions: rules or judge", "lower"),
    "genbit.open_answers": ("gendered language", "GenBit-style score of open answers", "lower"),
    "counterfactual.fairness_gap": ("counterfactual consistency",
                                    "fairness gap between the swapped answers (judge)", "lower"),
    "counterfactual.evasion_mismatch": ("counterfactual consistency",
                                        "one answer evasive, the other not (rules)", "lower"),
}


def behaviour_markdown(metrics: Mapping[str, Any]) -> str:
    """``report.md``: the set-up, then one table per section: metric, n, base, after,
    change +- se, 95 % interval."""
    changes = metrics["changes"]
    judge = metrics["judge"]
    lines = [
        f"# Behaviour: `{metrics['after']}` against `{metrics['base']}`", "",
        f"Greedy answers (at most {metrics['generation']['max_new_tokens']} new tokens) to the "
        f"project's own question sets; change = after - base, paired by question (by UnQover unit "
        f"for bias scores, by swapped pair for counterfactual gaps), ± its standard error. "
        f"Judge: {f'`{judge}`' if judge else 'none (rules only)'}"
        + (f"; relevance threshold {fmt(metrics['relevance_threshold'])} "
           f"({metrics['relevance_threshold_from']})" if judge else "") + f". {SENTIMENT_NOTE}.",
        "", "Questions: " + ", ".join(f"{k} {v}" for k, v in metrics["n_questions"].items()) + ".", "",
    ]
    sections: dict[str, list[list[Any]]] = {}
    for key, (section, label, better) in METRICS.items():
        if key in changes:
            c = changes[key]
            sections.setdefault(section, []).append(
                [label, c["n"], c["before"], c["after"], f"{c['change']:+.3f} ± {c['se']:.3f}",
                 f"[{c['ci95'][0]:+.3f}, {c['ci95'][1]:+.3f}]", better])
    for section, rows in sections.items():
        lines += [f"## {section.capitalize()}", "",
                  markdown_table(["metric", "n", "base", "after", "change ± se", "95 % interval",
                                  "better"], rows)]
    return "\n".join(lines)


# ---------------------------------------------------------------- runner


def run_behaviour(config: BehaviourEvalConfig, progress: bool = True) -> dict[str, Any]:
    """Answer every set with the base model and the policy, judge, compare; write metrics.json,
    report.md and answers.jsonl into ``config.out`` (atomically); returns the metrics."""
    import gc

    from fairguard.artifacts import atomic_output_dir, write_json, write_jsonl
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
        write_json(tmp / "metrics.json", metrics)
        (tmp / REPORT_FILE).write_text(behaviour_markdown(metrics), encoding="utf-8")
        write_jsonl(tmp / ANSWERS_FILE, records)
    return metrics


__all__ = ["ANSWERS_FILE", "METRICS", "REPORT_FILE", "BehaviourEvalConfig", "QuestionSets",
           "answer_sets", "behaviour_markdown", "calibrated_threshold", "choice_prompt",
           "item_values", "judge_answers", "load_judge", "question_sets", "run_behaviour", "spread"]
