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
* GenBit-style gendered-language bias of the open answers (:mod:`fairguard.metrics.genbit`);
* counterfactual consistency: open prompts with the group swapped
  (:mod:`fairguard.metrics.counterfactual`), the mean absolute gap of the judge's fairness score
  between the two answers of a pair, and the share of pairs where one answer is evasive and the
  other not.

The 'after' column can instead be the guard's rewrite step on the base model's answers
(``guard_filters``, e.g. ``lora,refine``): each greedy base answer goes through
:meth:`fairguard.Guard.decide` (strategy ``rewrite``, one candidate, ``below="flag"``, no plugin
time limit), and the text the guard would show is the guarded answer. Option likelihood has no
guard equivalent (the guard acts on generated text), so that part is reported for the base
model only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fairguard.errors import ConfigError
from fairguard.evaluation.behaviour_sets import (
    QuestionSets,
    answers_by_set,
    choice_examples,
    choice_prompt,
    generation_prompts,
    question_sets,
    spread,
)
from fairguard.evaluation.behaviour_values import (
    METRICS,
    SENTIMENT_NOTE,
    behaviour_markdown,
    guard_fields,
    guard_summary,
    item_values,
    worse_beyond_noise,
)
from fairguard.generation import DecodingConfig
from fairguard.guard.config import parse_thresholds
from fairguard.metrics.paired import PairedChange, paired_change

log = logging.getLogger(__name__)

DEFAULT_MODEL = "smollm2-135m-instruct"
REPORT_FILE = "report.md"
ANSWERS_FILE = "answers.jsonl"
SIDES = ("base", "after")
FAIRNESS, RELEVANCE = "fairness", "relevance"
# the guard's filters that need a folder: the option that gives it, and what it is
FILTER_FOLDERS = {"lora": ("guard_lora_adapter", "a peft adapter folder"),
                  "refine": ("guard_refine_layer", "a layer folder from `fairguard train refine`")}
GUARD_OPTIONS = ("guard_lora_adapter", "guard_refine_layer", "guard_reward_model", "guard_thresholds")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


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
    guard_filters: str | None = field(default=None, metadata={
        "help": "The guard's rewrite filters, in order, e.g. lora,refine: the 'after' column is "
                "then the base model's answers as the guard (--strategy rewrite) would show them.",
        "default_text": "none"})
    guard_lora_adapter: str | None = field(default=None, metadata={
        "help": "peft adapter folder of the lora filter (it regenerates with --model + adapter).",
        "default_text": "none"})
    guard_refine_layer: str | None = field(default=None, metadata={
        "help": "REFINE-LM layer folder of the refine filter (it regenerates with the layer at "
                "the answer slot).", "default_text": "none"})
    guard_reward_model: str | None = field(default=None, metadata={
        "help": "Reward-model folder the guard scores with to find answers under threshold.",
        "default_text": "--judge"})
    guard_thresholds: str | None = field(default=None, metadata={
        "help": "Minimum scores below which the guard rewrites, e.g. fairness=0.5.",
        "default_text": "the guard reward model's"})
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
    answers: str | None = field(default=None, metadata={
        "help": "The --out folder of an earlier run: match and judge its saved answers again (no "
                "generation), e.g. with another judge; --seed and --limit must be that run's.",
        "default_text": "none"})
    base_answers: str | None = field(default=None, metadata={
        "help": "The --out folder of an earlier run with the same --model, --seed, --limit, "
                "--max-new-tokens and --batch-size: reuse its base model's answers and generate "
                "only the 'after' column's.",
        "default_text": "none"})

    def __post_init__(self) -> None:
        if not str(self.model).strip():
            raise ConfigError("--model is empty; give a causal LM name, folder or hub id")
        self._check_guard()
        if self.limit is not None and (isinstance(self.limit, bool) or self.limit < 1):
            raise ConfigError(f"limit must be a positive integer, got {self.limit!r}")
        self.decoding()  # validates max_new_tokens and batch_size

    def _check_guard(self) -> None:
        filters = self.filter_names
        if self.answers is not None:
            given = [_flag(name) for name in ("adapter", "policy", "guard_filters", "base_answers",
                                              *GUARD_OPTIONS)
                     if getattr(self, name) is not None]
            if given:
                raise ConfigError(f"--answers judges the saved answers of an earlier run, which "
                                  f"named its own policies; drop {', '.join(given)}")
            return
        if not filters:
            if self.adapter is None and self.policy is None:
                raise ConfigError("nothing to compare with the base model: give --adapter DIR (a "
                                  "peft adapter), --policy MODEL (another causal LM) or "
                                  "--guard-filters lora,refine (the guard's rewrite step)")
            given = [_flag(name) for name in GUARD_OPTIONS if getattr(self, name) is not None]
            if given:
                raise ConfigError(f"{', '.join(given)}: options of the guard's filters; add "
                                  "--guard-filters (e.g. lora,refine) or drop them")
            return
        if self.adapter is not None or self.policy is not None:
            raise ConfigError("--guard-filters puts the guard on the base model's answers; drop "
                              "--adapter/--policy (the lora filter takes --guard-lora-adapter DIR)")
        if self.base_answers is not None:
            raise ConfigError("--guard-filters answers with the base model to rewrite its answers; "
                              "drop --base-answers")
        if len(set(filters)) != len(filters):
            raise ConfigError(f"--guard-filters names a filter twice: {','.join(filters)}")
        for name, (option, what) in FILTER_FOLDERS.items():
            if name in filters and not getattr(self, option):
                raise ConfigError(f"the {name} filter needs {_flag(option)} DIR ({what})")
            if name not in filters and getattr(self, option) is not None:
                raise ConfigError(f"{_flag(option)} is the {name} filter's folder; add {name} to "
                                  "--guard-filters or drop it")
        if not self.judge and not self.guard_reward_model:
            raise ConfigError("the guard needs a reward model to find the answers under threshold: "
                              "give --guard-reward-model DIR or --judge DIR")
        parse_thresholds(self.guard_thresholds)

    @property
    def filter_names(self) -> list[str]:
        """``guard_filters`` as a list of names (a comma list, or a YAML list)."""
        value = self.guard_filters
        if value is None:
            return []
        parts = value.split(",") if isinstance(value, str) else list(value)
        return [str(p).strip() for p in parts if str(p).strip()]

    def decoding(self) -> DecodingConfig:
        """Greedy decoding with the chat template (when the tokenizer has one)."""
        return DecodingConfig(max_new_tokens=self.max_new_tokens, batch_size=self.batch_size)

    @property
    def after_name(self) -> str:
        """How the 'after' policy is named in reports."""
        if self.filter_names:
            return f"{self.model} + guard rewrite ({', '.join(self.filter_names)})"
        name = self.policy or self.model
        return f"{name} + {self.adapter}" if self.adapter else name


# ---------------------------------------------------------------- answering


def answer_sets(model: Any, tokenizer: Any, sets: QuestionSets, config: BehaviourEvalConfig,
                progress: bool = True) -> dict[str, Any]:
    """One policy's answers: option likelihood choices and generated answers for the multiple
    choice questions, generated answers to the everyday and counterfactual prompts."""
    from fairguard.evaluation.bbq import option_scores, predict
    from fairguard.generation import generate_responses

    likelihood = predict(option_scores(model, tokenizer, choice_examples(sets), "causal",
                                       batch_size=config.batch_size, progress=progress))
    answers = generate_responses(model, tokenizer, generation_prompts(sets), config.decoding(),
                                 progress=progress)
    return {"likelihood": likelihood, **answers_by_set(sets, answers)}


def _load_side(config: BehaviourEvalConfig, side: str, device: str) -> tuple[Any, Any]:
    from fairguard.generation import load_policy

    if side == "base":
        model, tokenizer = load_policy(config.model)
    else:
        model, tokenizer = load_policy(config.policy or config.model, config.adapter)
    return model.to(device), tokenizer


# ---------------------------------------------------------------- the guard's rewrite step


def build_guard(config: BehaviourEvalConfig, judge: Any) -> Any:
    """The :class:`fairguard.Guard` of the 'after' column: the rewrite strategy over one
    candidate (the base model's greedy answer), ``config.filter_names`` in order, scored by
    ``--guard-reward-model`` (else the judge), answers still under threshold flagged and shown,
    no plugin time limit (an evaluation waits for every filter)."""
    from fairguard.guard import Guard, GuardConfig
    from fairguard.registry import get_filter, get_reward
    from fairguard.scoring import REWARD_MODEL

    options: dict[str, dict[str, Any]] = {
        "lora": {"path": config.guard_lora_adapter, "base_model": config.model,
                 "max_new_tokens": config.max_new_tokens, "batch_size": config.batch_size},
        "refine": {"path": config.guard_refine_layer, "model": config.model}}
    filters = [get_filter(name, **options.get(name, {})) for name in config.filter_names]
    reward = (get_reward(REWARD_MODEL, path=config.guard_reward_model, batch_size=config.batch_size)
              if config.guard_reward_model else judge)
    return Guard([reward], filters, config=GuardConfig(
        strategy="rewrite", n=1, thresholds=config.guard_thresholds, below="flag",
        fail="closed", timeout_s=None))


def guard_answers(guard: Any, model: Any, tokenizer: Any, prompts: list[str], answers: list[str],
                  decoding: DecodingConfig, progress: bool = True) -> list[Any]:
    """One :class:`fairguard.GuardRecord` per answer: what the guard shows for the base
    model's ``answers`` to ``prompts``. Filters with a logits processor (``refine``) regenerate
    with ``model`` under ``decoding`` (the base answers' decoding); text filters (``lora``,
    ``neutralize``) rewrite."""
    from fairguard.errors import PluginError
    from fairguard.generation import generate_responses

    processors = []
    for flt in guard.filters:
        try:
            processor = flt.logits_processor(tokenizer)
        except Exception as exc:  # setup failure (another tokenizer): say so now
            raise PluginError(flt.name, f"logits_processor() raised {type(exc).__name__}: {exc}") from exc
        processors.append(processor)

    def regenerate(index: int, groups: list[int]) -> list[list[str]]:
        processor = processors[index]
        chain = list(processor) if isinstance(processor, (list, tuple)) else [processor]
        texts = generate_responses(model, tokenizer, [prompts[g] for g in groups], decoding,
                                   logits_processors=chain, progress=progress)
        return [[text] for text in texts]

    rows = guard.decide(prompts, [[a] for a in answers], regenerate=regenerate,
                        processors=processors)
    return [row[0] for row in rows]


# ---------------------------------------------------------------- judging


def calibrated_threshold(reward: Any, head: str) -> tuple[float, str]:
    """The head's threshold from the reward model's fairguard.json ``calibration`` (else its
    ``thresholds``), and which of the two it came from."""
    scorers = getattr(reward, "scorers", None) or ()
    # an ensemble's first member's file holds that member's calibration, not the ensemble's
    metadata = (getattr(getattr(reward, "scorer", None), "metadata", None) or {}) \
        if len(scorers) <= 1 else {}
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


def saved_answers(folder: str, sets: QuestionSets, option: str = "--answers"
                  ) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """The answers an earlier run saved in ``folder`` (per side, as :func:`answer_sets` returns
    them), its 'after' records and its metrics.json; :class:`ArtifactError` (naming ``option``,
    the flag that gave the folder) when the folder is not such a run or it answered other
    questions than ``sets``."""
    import json

    from fairguard.artifacts import jsonl_objects
    from fairguard.errors import ArtifactError

    path, metrics_path = Path(folder) / ANSWERS_FILE, Path(folder) / "metrics.json"
    if not path.is_file() or not metrics_path.is_file():
        raise ArtifactError(f"{folder} has no {ANSWERS_FILE} and metrics.json; point {option} at "
                            "the --out folder of a `fairguard eval behaviour` run")
    try:
        saved_metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{metrics_path} is corrupt ({exc}); re-run without {option}") from exc
    by_side: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    for number, row in jsonl_objects(path, fix=f"re-run without {option}"):
        if row.get("policy") not in by_side or not isinstance(row.get("answer"), str):
            raise ArtifactError(f"{path} line {number} is not a behaviour answer (policy base or "
                                f"after, a text answer); re-run without {option}")
        by_side[str(row["policy"])].append(row)
    expected = ([e.id for e in choice_examples(sets)] + [q.id for q in sets.everyday]
                + [f"{pair.id}-{side}" for pair in sets.counterfactual for side in "ab"])
    n_choice = len(sets.ambig) + len(sets.disambig)
    answers: dict[str, Any] = {}
    for side, rows in by_side.items():
        ids = [str(r.get("id")) for r in rows]
        if ids != expected:
            raise ArtifactError(f"{path} answered other questions ({len(ids)} {side} answers, "
                                f"{len(expected)} expected): give --seed and --limit as that run "
                                "did (its metrics.json n_questions)")
        choices = [r.get("likelihood_choice") for r in rows[:n_choice]]
        likelihood = [int(c) for c in choices if c is not None]
        answers[side] = {"likelihood": likelihood if len(likelihood) == n_choice else None,
                         **answers_by_set(sets, [r["answer"] for r in rows])}
    return answers, by_side["after"], saved_metrics


def saved_base_answers(folder: str, sets: QuestionSets, config: BehaviourEvalConfig,
                       device: str) -> dict[str, Any]:
    """The base model's answers an earlier run saved in ``folder`` (as :func:`answer_sets`
    returns them); :class:`ArtifactError` when that run answered with another model or other
    settings, or other questions."""
    from fairguard.errors import ArtifactError

    answers, _, saved = saved_answers(folder, sets, "--base-answers")
    expected = {"base": config.model, "generation": config.decoding().to_dict()}
    for key, value in expected.items():
        if saved.get(key) != value:
            raise ArtifactError(f"{folder} answered with {key} {saved.get(key)!r}, this run with "
                                f"{value!r}: --base-answers needs a run of the same base model and "
                                "settings (or drop it)")
    if saved.get("device") not in (None, device):
        log.warning("%s answered on %s, this run on %s: greedy answers can differ slightly "
                    "between devices", folder, saved.get("device"), device)
    if answers["base"]["likelihood"] is None:
        raise ArtifactError(f"{folder} has no option-likelihood choices of the base model; "
                            "re-run it or drop --base-answers")
    return dict(answers["base"])


# ---------------------------------------------------------------- runner


def _answer_sides(config: BehaviourEvalConfig, sets: QuestionSets, guard: Any, device: str,
                  progress: bool) -> tuple[dict[str, Any], list[Any] | None]:
    """Each side's answers (one policy in memory at a time; the base side's from
    ``--base-answers`` when given) and, with a guard, its records: the 'after' answers are then
    what the guard shows for the base answers (no likelihood)."""
    import gc

    answers: dict[str, Any] = {}
    if config.base_answers is not None:
        log.info("the base model's answers from %s", config.base_answers)
        answers["base"] = saved_base_answers(config.base_answers, sets, config, device)
    guard_records = None
    for side in (s for s in (SIDES if guard is None else ("base",)) if s not in answers):
        log.info("answering with the %s policy", side)
        model, tokenizer = _load_side(config, side, device)
        answers[side] = answer_sets(model, tokenizer, sets, config, progress=progress)
        if guard is not None:
            log.info("passing the base answers through the guard's rewrite step")
            base = answers[side]
            flat = base["choice"] + base["everyday"] + [a for pair in base["counterfactual"]
                                                        for a in pair]
            guard_records = guard_answers(guard, model, tokenizer, generation_prompts(sets), flat,
                                          config.decoding(), progress=progress)
            answers["after"] = {"likelihood": None,
                                **answers_by_set(sets, [r.text for r in guard_records])}
        del model
        gc.collect()
    return answers, guard_records


def run_behaviour(config: BehaviourEvalConfig, progress: bool = True) -> dict[str, Any]:
    """Answer every set with the base model and the policy, judge, compare; write metrics.json,
    report.md and answers.jsonl into ``config.out`` (atomically); returns the metrics."""
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
        guard = build_guard(config, judge) if config.filter_names else None
        saved: dict[str, Any] = {}
        saved_after: list[dict[str, Any]] = []
        if config.answers is not None:
            answers, saved_after, saved = saved_answers(config.answers, sets)
            guard_records = None
        else:
            answers, guard_records = _answer_sides(config, sets, guard, device, progress)
        per_side: dict[str, dict[str, list[float]]] = {}
        records: list[dict[str, Any]] = []
        for side in SIDES:
            judged = (judge_answers(judge, sets, answers[side], chunk=4 * config.batch_size,
                                    progress=progress) if judge else None)
            per_side[side], side_records = item_values(sets, answers[side], judged, threshold)
            if side == "after" and guard_records is not None:
                side_records = [{**r, "guard": guard_fields(g)}
                                for r, g in zip(side_records, guard_records)]
            elif side == "after" and saved:
                side_records = [{**r, **({"guard": old["guard"]} if "guard" in old else {})}
                                for r, old in zip(side_records, saved_after)]
            records += [{"policy": side, **r} for r in side_records]
        changes: dict[str, PairedChange] = {key: paired_change(per_side["base"][key],
                                                               per_side["after"][key])
                                            for key in per_side["base"] if key in per_side["after"]}
        change_dicts = {k: c.to_dict() for k, c in changes.items()}
        base_only = {key: {"n": len(v), "before": sum(v) / len(v) if v else float("nan")}
                     for key, v in per_side["base"].items() if key not in per_side["after"]}
        metrics = {
            "kind": "behaviour-eval",
            "base": saved.get("base", config.model), "after": saved.get("after", config.after_name),
            "adapter": (saved.get("adapter") if saved else
                        str(Path(config.adapter).resolve()) if config.adapter else None),
            "answers_from": str(Path(config.answers).resolve()) if config.answers else None,
            "base_answers_from": (str(Path(config.base_answers).resolve()) if config.base_answers
                                  else saved.get("base_answers_from")),
            "judge": str(Path(config.judge).resolve()) if config.judge else None,
            "relevance_threshold": threshold, "relevance_threshold_from": threshold_from,
            "sentiment": SENTIMENT_NOTE,
            "n_questions": {"ambiguous": len(sets.ambig), "disambiguated": len(sets.disambig),
                            "everyday": len(sets.everyday),
                            "counterfactual pairs": len(sets.counterfactual)},
            "sources": sets.sources,
            "changes": change_dicts,
            "worse_beyond_noise": worse_beyond_noise(change_dicts),
            "base_only": base_only,
            "guard": (guard_summary(config, guard, guard_records or []) if guard
                      else saved.get("guard")),
            "generation": saved.get("generation", config.decoding().to_dict()), "device": device,
            "seconds": round(time.perf_counter() - started, 2),
        }
        write_report(tmp, metrics, behaviour_markdown(metrics), REPORT_FILE)
        write_jsonl(tmp / ANSWERS_FILE, records)
    return metrics


__all__ = ["ANSWERS_FILE", "METRICS", "REPORT_FILE", "BehaviourEvalConfig", "QuestionSets",
           "answer_sets", "behaviour_markdown", "build_guard", "calibrated_threshold",
           "choice_prompt", "guard_answers", "item_values", "judge_answers", "load_judge",
           "question_sets", "run_behaviour", "saved_answers", "saved_base_answers", "spread"]
