"""The fairness / relevance / fluency evaluation of a policy LM on held-out prompts (as in the
multi-reward GRPO paper): scored by the weighted reward and by each ``--judge`` on its own,
independent judges first (:mod:`fairguard.evaluation.cross_judge`)."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from fairguard.artifacts import write_jsonl
from fairguard.errors import ConfigError
from fairguard.evaluation.cross_judge import (
    JUDGE_HELP,
    JudgeResult,
    Reference,
    TrainingJudge,
    check_judges,
    flagged_shares,
    judge_backbone,
    judge_names,
    judge_order,
    judge_relation,
    judges_markdown,
    judges_metrics,
    load_judges,
    reference_answers,
    row_scores,
    training_judge,
    warn_training_judges,
    weighted_reward_note,
)
from fairguard.evaluation.fluency import FluencyProxy
from fairguard.evaluation.report import markdown_table, write_report
from fairguard.generation import DecodingConfig, generate_responses, load_policy
from fairguard.metrics.evasion import evasion_reason
from fairguard.metrics.quality import (
    DEFAULT_TEMPERATURE,
    TRIPLE,
    QualitySummary,
    fluency_from_nll,
    quality_triple,
    summarize_scores,
)
from fairguard.protocols import Reward
from fairguard.scoring import TOTAL, WeightedRewards

logger = logging.getLogger("fairguard")


@dataclass(frozen=True)
class QualityEvaluation:
    """Generated responses, their per-head scores and the summary over all of them."""

    prompts: list[str]
    responses: list[str]
    summary: QualitySummary

    def to_dict(self) -> dict[str, Any]:
        return self.summary.to_dict()

    def records(self, extra: Sequence[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """One dict per example: prompt, response and every head's score (plus ``extra``)."""
        out = []
        for i, (prompt, response) in enumerate(zip(self.prompts, self.responses)):
            row: dict[str, Any] = dict(extra[i]) if extra else {}
            row.update(prompt=prompt, response=response)
            row.update({head: values[i] for head, values in self.summary.scores.items()})
            out.append(row)
        return out


def no_scores(n: int) -> QualitySummary:
    """The summary of ``n`` responses that only the judges score (no weighted reward)."""
    return QualitySummary({}, {}, n, {})


def score_responses(prompts: Sequence[str], responses: Sequence[str],
                    rewards: WeightedRewards | Reward | Sequence[Reward] | None,
                    fluency_proxy: FluencyProxy | None = None) -> QualitySummary:
    """The triple (every reward head and ``total``), plus the fluency proxy head when given.

    The proxy is scored separately so that it never enters the weighted ``total``; with
    ``rewards=None`` only the proxy is scored.
    """
    if rewards is None and fluency_proxy is None:
        raise ConfigError("nothing to score with; give rewards and/or a fluency proxy")
    scores: dict[str, list[float]] = {}
    if rewards is not None:
        scores.update(quality_triple(prompts, responses, rewards).scores)
    if fluency_proxy is not None:
        proxy = quality_triple(prompts, responses, fluency_proxy)
        scores.update({h: v for h, v in proxy.scores.items() if h != TOTAL})
    return summarize_scores(scores)


def evaluate_quality(model: Any, tokenizer: Any, prompts: Sequence[str],
                     rewards: WeightedRewards | Reward | Sequence[Reward] | None,
                     generation: DecodingConfig | None = None, *,
                     fluency_proxy: FluencyProxy | None = None,
                     logits_processors: Sequence[Any] | None = None,
                     progress: bool = True) -> QualityEvaluation:
    """Generate a response per prompt with ``model`` and score them with the rewards."""
    prompts = list(prompts)
    responses = generate_responses(model, tokenizer, prompts, generation,
                                   logits_processors=logits_processors, progress=progress)
    summary = score_responses(prompts, responses, rewards, fluency_proxy)
    return QualityEvaluation(prompts, responses, summary)


@dataclass(frozen=True)
class QualityEvalConfig:
    """Options of ``fairguard eval quality``."""

    model: str = field(metadata={"help": "Policy causal LM: embedded name, folder or hub id."})
    data: str = field(metadata={"help": "Dataset folder from `fairguard data build`."})
    out: str = field(metadata={
        "help": "Output folder (metrics.json, metrics.md, responses.jsonl)."})
    adapter: str | None = field(default=None, metadata={"help": "peft adapter folder to apply."})
    split: str = field(default="test", metadata={"help": "Split to evaluate on."})
    limit: int | None = field(default=None, metadata={
        "help": "Evaluate only the first N distinct prompts."})
    reward_model: str | None = field(default=None, metadata={
        "help": "Reward-model folder (fairness/relevance/fluency heads) of the weighted reward "
                "(`total`; what --guard guards with)."})
    reward: str | None = field(default=None, metadata={
        "help": "Rewards and weights, e.g. fairness=1,relevance=0.5,gender-bias=0.3."})
    judge: tuple[str, ...] = field(default=(), metadata={"help": JUDGE_HELP, "multiple": True})
    fluency_proxy: bool = field(default=False, metadata={
        "help": "Add the reference-free fluency proxy exp(-NLL/T) under --fluency-model."})
    fluency_model: str = field(default="smollm2-135m-instruct", metadata={
        "help": "Reference causal LM of the fluency proxy."})
    fluency_temperature: float = field(default=DEFAULT_TEMPERATURE, metadata={
        "help": "T of the fluency proxy."})
    max_new_tokens: int = field(default=64, metadata={"help": "Tokens generated per response."})
    sample: bool = field(default=False, metadata={
        "help": "Sample instead of greedy decoding.",
        "flag": "--sample/--greedy"})
    temperature: float = field(default=1.0, metadata={"help": "Sampling temperature."})
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling p."})
    batch_size: int = field(default=8, metadata={"help": "Prompts per generation batch."})
    seed: int = field(default=0, metadata={"help": "Sampling seed."})
    refine_layer: str | None = field(default=None, metadata={
        "help": "REFINE-LM layer folder applied while generating."})
    guard: bool = field(default=False, metadata={
        "help": "Also pass every response through a rewrite-strategy Guard on the same rewards "
                "and report the scores of what it would show."})
    guard_filters: str = field(default="neutralize", metadata={
        "help": "Comma list of the guard's text filters (no folder options; for lora and "
                "refine as the guard's step, use `fairguard eval behaviour --guard-filters`)."})
    overwrite: bool = field(default=False, metadata={"help": "Replace an existing --out folder."})

    def __post_init__(self) -> None:
        if self.guard and self.reward_model is None and not self.reward:
            raise ConfigError("--guard needs the rewards it guards with: pass --reward-model DIR "
                              "and/or --reward NAME=WEIGHT")
        if self.limit is not None and (isinstance(self.limit, bool) or self.limit < 1):
            raise ConfigError(f"limit must be a positive integer, got {self.limit!r}")
        if self.guard:
            from fairguard.evaluation.behaviour import FILTER_FOLDERS

            needs_folder = [n.strip() for n in self.guard_filters.split(",")
                            if n.strip() in FILTER_FOLDERS]
            if needs_folder:
                raise ConfigError(
                    f"--guard-filters {','.join(needs_folder)}: these filters need a folder, which "
                    "`eval quality --guard` cannot pass; run `fairguard eval behaviour "
                    "--guard-filters lora,refine --guard-lora-adapter DIR --guard-refine-layer DIR` "
                    "(the guard's rewrite step on the base answers), or apply them while generating "
                    "here with --adapter DIR / --refine-layer DIR")
        object.__setattr__(self, "judge", check_judges(self.judge))
        if self.reward_model is None and not self.reward and not self.fluency_proxy and not self.judge:
            raise ConfigError("no rewards to evaluate with; pass --judge DIR, --reward-model DIR, "
                              "--reward NAME=WEIGHT (see `fairguard rewards`) and/or --fluency-proxy")
        self.generation()  # validates the generation options
        fluency_from_nll(0.0, self.fluency_temperature)  # validates the proxy's temperature

    def generation(self) -> DecodingConfig:
        return DecodingConfig(max_new_tokens=self.max_new_tokens, do_sample=self.sample,
                                temperature=self.temperature, top_p=self.top_p,
                                batch_size=self.batch_size, seed=self.seed)


def load_eval_prompts(data: str, split: str) -> list[Any]:
    """The dataset's rows of ``split``, via the shared loader."""
    from fairguard.data.loaders import load_pairs

    return list(load_pairs(data, split))


EVASIVE_LINE = ("\nAnswers that decline or deflect by the evasion rules "
                "(`fairguard.metrics.evasion`): {:.1f} %.\n")


def distinct_prompts(rows: Sequence[Any]) -> list[Any]:
    """The first row of each prompt in ``rows``, in order: a prompt that several rows share is
    evaluated once, so that it counts once in the means and in their paired standard errors."""
    seen: set[str] = set()
    out = []
    for row in rows:
        if row.prompt not in seen:
            seen.add(row.prompt)
            out.append(row)
    return out


def category_summaries(categories: Sequence[str], summary: QualitySummary) -> dict[str, dict[str, Any]]:
    """``summary`` split by the category of each response (``categories[i]`` for response i)."""
    if not summary.scores:
        return {}
    groups: dict[str, list[int]] = defaultdict(list)
    for i, category in enumerate(categories):
        groups[category].append(i)
    out = {}
    for cat, idx in sorted(groups.items()):
        sub = summarize_scores({h: [v[i] for i in idx] for h, v in summary.scores.items()})
        out[cat] = sub.to_dict()
    return out


def score_with_judges(judges: Sequence[str], rewards: Sequence[Reward], prompts: Sequence[str],
                      responses: Sequence[str], categories: Sequence[str],
                      trained: TrainingJudge, references: Sequence[Reference] = ()
                      ) -> list[JudgeResult]:
    """Each judge's scores (``rewards[i]``, the ``reward-model`` reward of folder ``judges[i]``)
    of the responses, overall and per category, and of the dataset's own ``references`` to the
    same prompts, in report order (independent judges first); logs a warning for each judge
    that is not independent of the adapter's training."""
    relations = [judge_relation(path, trained) for path in judges]
    names = judge_names(judges)
    results = []
    for i in judge_order(relations):
        scores = rewards[i].score(list(prompts), list(responses))
        summary = summarize_scores({h: scores[h] for h in rewards[i].heads})
        thresholds = {h: float(t) for h, t in (getattr(rewards[i], "thresholds", None) or {}).items()
                      if h in rewards[i].heads}
        results.append(JudgeResult(names[i], str(Path(judges[i]).resolve()), relations[i],
                                   summary, category_summaries(categories, summary),
                                   judge_backbone(judges[i]), thresholds,
                                   _score_references(rewards[i], prompts, references, thresholds)))
    warn_training_judges(results)
    return results


def _score_references(reward: Reward, prompts: Sequence[str], references: Sequence[Reference],
                      thresholds: dict[str, float]) -> dict[str, dict[str, Any]]:
    """``{kind: {"n", "means", "flagged"}}``: ``reward``'s scores of each kind of reference
    answer (one scoring call for all of them)."""
    if not references:
        return {}
    pair_prompts = [prompts[i] for ref in references for i in ref.rows]
    texts = [text for ref in references for text in ref.texts]
    scores = reward.score(pair_prompts, texts)
    out, start = {}, 0
    for ref in references:
        part = {h: list(scores[h][start:start + len(ref.texts)]) for h in reward.heads}
        start += len(ref.texts)
        summary = summarize_scores(part)
        out[ref.kind] = {"n": summary.n, "means": summary.means,
                         "flagged": flagged_shares(part, thresholds)}
    return out


def quality_markdown(title: str, summary: QualitySummary,
                     by_category: dict[str, dict[str, Any]] | None = None,
                     judges: Sequence[JudgeResult] = (), note: str = "", repeated_rows: int = 0) -> str:
    """The readable report: the judges' table first (when there are judges), then the weighted
    reward's table (one row per head, triple first; ``note`` above it; none when ``summary``
    has no heads) and its per-category means."""
    repeated = (f", one per distinct prompt ({repeated_rows} more rows of the split repeat one of "
                "them)" if repeated_rows else "")
    text = f"# {title}\n\n{summary.n} responses{repeated}.\n\n"
    if judges:
        text += judges_markdown(judges) + "\n"
    if not summary.means:
        return text
    if judges:
        text += "## Weighted reward\n\n"
    text += note
    heads = [h for h in TRIPLE if h in summary.means]
    heads += sorted(h for h in summary.means if h not in heads and h != TOTAL)
    if TOTAL in summary.means:
        heads.append(TOTAL)
    text += markdown_table(["metric", "mean", "std"],
                           [[h, summary.means[h], summary.stds[h]] for h in heads])
    if by_category:
        text += "\n## By category\n\n"
        text += markdown_table(["category", "n", *heads],
                               [[cat, d["n"], *[d["means"][h] for h in heads]]
                                for cat, d in by_category.items()])
    return text


def _refine_processors(layer: str | None, tokenizer: Any) -> list[Any] | None:
    """The ``refine`` filter's logits processor for ``layer`` (a REFINE-LM layer folder)."""
    if layer is None:
        return None
    from fairguard.registry import get_filter

    processor = get_filter("refine", path=layer).logits_processor(tokenizer)
    return [processor] if processor is not None else None


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for value in values:
        counts[str(value)] += 1
    return dict(sorted(counts.items()))


def _guarded_summary(config: QualityEvalConfig, rewards: WeightedRewards,
                     result: QualityEvaluation, proxy: FluencyProxy | None) -> tuple[Any, list[Any]]:
    """Pass every generated response through a rewrite-strategy Guard built on the evaluation's
    rewards and ``config.guard_filters``; score what the guard would show."""
    from fairguard.guard import Guard

    filters = [name.strip() for name in config.guard_filters.split(",") if name.strip()]
    guard = Guard(rewards.rewards, filters, weights=rewards.weights, strategy="rewrite", below="flag")
    records = guard.score_batch(result.prompts, result.responses)
    shown = [record.text for record in records]
    return score_responses(result.prompts, shown, rewards, proxy), records


def run_quality_eval(config: QualityEvalConfig, progress: bool = True) -> dict[str, Any]:
    """``fairguard eval quality``: generate on a split, score, write metrics.json / metrics.md /
    responses.jsonl into ``config.out``; returns the metrics."""
    from fairguard.artifacts import atomic_output_dir
    from fairguard.models import load_causal_lm
    from fairguard.scoring import build_rewards

    with atomic_output_dir(config.out, config.overwrite) as tmp:
        split_rows = load_eval_prompts(config.data, config.split)
        rows = distinct_prompts(split_rows)
        repeated = len(split_rows) - len(rows)
        if repeated:
            logger.info("%s (%s): %d rows repeat another row's prompt; each prompt is evaluated once",
                        config.data, config.split, repeated)
        rows = rows[:config.limit]
        rewards = (build_rewards(config.reward, reward_model=config.reward_model)
                   if config.reward_model is not None or config.reward else None)
        judges = load_judges(config.judge)  # before generating: a bad folder fails fast
        trained = training_judge(config.adapter)
        proxy = None
        if config.fluency_proxy:
            ref_model, ref_tok = load_causal_lm(config.fluency_model)
            proxy = FluencyProxy(ref_model, ref_tok, config.fluency_temperature, config.batch_size)
        model, tokenizer = load_policy(config.model, config.adapter)
        processors = _refine_processors(config.refine_layer, tokenizer)
        started = time.perf_counter()
        prompts = [r.prompt for r in rows]
        responses = generate_responses(model, tokenizer, prompts, config.generation(),
                                       logits_processors=processors, progress=progress)
        result = QualityEvaluation(prompts, responses, no_scores(len(prompts))
                                   if rewards is None and proxy is None
                                   else score_responses(prompts, responses, rewards, proxy))
        guarded = (_guarded_summary(config, rewards, result, proxy)
                   if config.guard and rewards is not None else None)
        evasion = [evasion_reason(response) for response in responses]
        categories = [str(getattr(r, "category", "all")) for r in rows]
        judged = score_with_judges(config.judge, judges, prompts, responses, categories, trained,
                                   reference_answers(rows))
        seconds = time.perf_counter() - started
        by_category = category_summaries(categories, result.summary)
        relation, note = weighted_reward_note(config.reward_model, trained)
        metrics = {
            "kind": "quality-eval",
            "model": config.model,
            "adapter": config.adapter,
            "data": str(Path(config.data).resolve()),
            "split": config.split,
            "n": result.summary.n,
            "repeated_rows": repeated,
            "evasive": sum(e is not None for e in evasion) / len(evasion) if evasion else 0.0,
            "means": result.summary.means,
            "stds": result.summary.stds,
            "by_category": by_category,
            "rewards": ({"reward_model": config.reward_model, "weights": rewards.weights,
                         "heads": list(rewards.heads),
                         "relation": relation.kind if relation else None}
                        if rewards is not None else None),
            **judges_metrics(judged, trained),
            "fluency_proxy": ({"model": config.fluency_model, "temperature": config.fluency_temperature,
                               "formula": "exp(-mean_token_nll / temperature)"} if proxy else None),
            "generation": config.generation().to_dict(),
            "refine_layer": config.refine_layer,
            "seconds": round(seconds, 2),
        }
        title = f"Quality of {config.model}" + (f" + {config.adapter}" if config.adapter else "")
        title += f" + REFINE layer {config.refine_layer}" if config.refine_layer else ""
        report = quality_markdown(title, result.summary, by_category, judged, note, repeated)
        report += EVASIVE_LINE.format(100 * metrics["evasive"])
        if guarded is not None:
            summary, records = guarded
            metrics["guarded"] = {"filters": config.guard_filters, "strategy": "rewrite",
                                  "below": "flag", "means": summary.means, "stds": summary.stds,
                                  "actions": _count(r.action for r in records),
                                  "decisions": _count(r.decision for r in records)}
            report += "\n" + quality_markdown("After the guard (rewrite strategy, flag policy)", summary)
            write_jsonl(tmp / "guarded.jsonl",
                        [{"prompt": p, **r.to_dict()} for p, r in zip(result.prompts, records)])
        write_report(tmp, metrics, report)
        extra = [{"id": getattr(r, "id", str(i)), "category": getattr(r, "category", None)}
                 for i, r in enumerate(rows)]
        records = result.records(extra)
        for record, rule in zip(records, evasion):
            record["evasion_rule"] = rule
        if judged:
            for i, record in enumerate(records):
                record["judges"] = row_scores(judged, i)
        write_jsonl(tmp / "responses.jsonl", records)
    return metrics
