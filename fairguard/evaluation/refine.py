"""REFINE-LM evaluation: question sets with their cached top-k, the metrics of a layer (or none)
on them, and the runner behind ``fairguard eval refine``.

Bias metrics come from :mod:`fairguard.metrics.unqover` (delta, epsilon, mu, eta) on the
complete quads of ambiguous questions; utility is measured on disambiguated questions:

- ``accuracy``: share whose refined top-1 token is the stated subject's slot token (what greedy
  decoding would answer);
- ``pair_accuracy``: share where the stated subject scores above the other subject;
- ``answer_prob``: mean refined probability of the stated subject (drops when a layer merely
  flattens the distribution, which argmax accuracy cannot show).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch

from fairguard.errors import ConfigError, DataError
from fairguard.metrics.unqover import SubjectScore, unqover_metrics
from fairguard.refine.answer_slot import (
    AnswerSlot,
    LMKind,
    build_slots,
    lm_kind,
    subject_scores,
)
from fairguard.refine.cache import TopK, compute_topk
from fairguard.refine.config import RefineEvalConfig
from fairguard.refine.layer import RefineLayer, model_fingerprint
from fairguard.refine.reward import group_quads

DEFAULT_K = {"masked": 8, "causal": 10}


@dataclass
class BaseLM:
    """A frozen base LM with its tokenizer, kind and fingerprint."""

    name: str
    model: Any
    tokenizer: Any
    kind: LMKind
    fingerprint: str

    @property
    def pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = self.tokenizer.eos_token_id
        return int(pad or 0)


def load_base_lm(name: str) -> BaseLM:
    """Load a masked or causal LM by name (embedded name, folder, hub id), frozen, in eval mode."""
    from fairguard.models import load_causal_lm, load_masked_lm, load_model_config

    kind = lm_kind(load_model_config(name))
    if kind == "masked":
        model, tokenizer = load_masked_lm(name, fill_pad=True)
    else:
        model, tokenizer = load_causal_lm(name)
    for p in model.parameters():
        p.requires_grad_(False)
    return BaseLM(name, model, tokenizer, kind, model_fingerprint(model, tokenizer))


@dataclass
class QuestionSet:
    """Scorable questions of one split, their slots and the LM's cached top-k."""

    name: str
    questions: list[Any]
    slots: list[AnswerSlot]
    topk: TopK
    subject_ids: torch.Tensor  # [N, 2]
    answers: torch.Tensor | None  # [N] index into (x1, x2), disambiguated sets only
    skipped: int
    quads: torch.Tensor  # [G, 2, 2] complete quads (ambiguous sets)

    def __len__(self) -> int:
        return len(self.questions)

    def answer_ids(self) -> torch.Tensor:
        if self.answers is None:
            raise DataError(f"{self.name}: questions have no stated answer")
        return self.subject_ids.gather(1, self.answers.unsqueeze(1)).squeeze(1)


def prepare_set(lm: BaseLM, name: str, questions: Sequence[Any], k: int, *,
                batch_size: int = 16, cache_dir: str | Path | None = None,
                ambiguous: bool = True, answer_prefix: str = "") -> QuestionSet:
    """Build slots for ``questions`` and run (or read from cache) the LM's top-k at each slot."""
    if not questions:
        raise DataError(f"{name}: no questions; check the category and the data folder")
    kept, slots, skipped = build_slots(lm.tokenizer, questions, lm.kind, answer_prefix)
    if not kept:
        raise DataError(f"{name}: none of the {len(questions)} questions can be scored (the two "
                        "subjects of every pair share their first tokens)")
    if ambiguous:
        quads, _ = group_quads(kept)
        if len(quads) == 0:
            raise DataError(f"{name}: no complete UnQover group (both orders x both polarities "
                            "of one subject pair); the question set is unusable")
    else:
        quads = torch.empty((0, 2, 2), dtype=torch.long)
    topk = compute_topk(lm.model, slots, k, lm.kind, lm.pad_id, batch_size=batch_size,
                        cache_dir=cache_dir, fingerprint=lm.fingerprint, desc=f"LM top-k ({name})")
    subject_ids = torch.tensor([s.subject_ids for s in slots], dtype=torch.long)
    answers = None
    if not ambiguous:
        if any(s.answer is None for s in slots):
            raise DataError(f"{name}: disambiguated questions need an 'answer' field")
        answers = torch.tensor([s.answer for s in slots], dtype=torch.long)
    return QuestionSet(name, kept, slots, topk, subject_ids, answers, skipped, quads)


def refined_logprobs(layer: RefineLayer | None, topk: TopK) -> torch.Tensor:
    """Log-probabilities over the top k: the layer's, or the LM's own renormalised (``None``)."""
    if layer is None:
        return torch.log_softmax(topk.logprobs, dim=-1)
    if layer.k != topk.logprobs.shape[-1]:
        raise ConfigError(f"the layer has k={layer.k} but the top-k was computed with "
                          f"k={topk.logprobs.shape[-1]}")
    with torch.no_grad():
        return layer(topk.logprobs)


def score_rows(qs: QuestionSet, logprobs: torch.Tensor) -> list[SubjectScore]:
    """SubjectScore rows of the complete quads of an ambiguous set."""
    scores = subject_scores(logprobs.exp(), qs.topk.ids, qs.subject_ids)
    rows = []
    for i in qs.quads.flatten().tolist():
        q = qs.questions[i]
        rows.append(SubjectScore(q.category, q.template_id, q.attribute_id, q.polarity, q.x1, q.x2,
                                 q.order, float(scores[i, 0]), float(scores[i, 1])))
    return rows


def bias_metrics(qs: QuestionSet, logprobs: torch.Tensor) -> dict[str, Any]:
    """delta, epsilon, mu, eta (and counts) of an ambiguous set."""
    return unqover_metrics(score_rows(qs, logprobs)).to_dict()


def utility_metrics(qs: QuestionSet, logprobs: torch.Tensor) -> dict[str, float]:
    """accuracy, pair_accuracy and answer_prob of a disambiguated set."""
    probs = logprobs.exp()
    answer_ids = qs.answer_ids()
    answers = qs.answers
    assert answers is not None  # answer_ids() raised otherwise
    top1 = qs.topk.ids.gather(1, probs.argmax(-1, keepdim=True)).squeeze(1)
    scores = subject_scores(probs, qs.topk.ids, qs.subject_ids)
    stated = scores.gather(1, answers.unsqueeze(1)).squeeze(1)
    other = scores.gather(1, (1 - answers).unsqueeze(1)).squeeze(1)
    return {"accuracy": float((top1 == answer_ids).float().mean()),
            "pair_accuracy": float((stated > other).float().mean()),
            "answer_prob": float(stated.mean()),
            "n_questions": len(qs)}


def evaluate(layer: RefineLayer | None, ambiguous: QuestionSet,
             disambiguated: QuestionSet | None) -> dict[str, Any]:
    """Bias metrics on ``ambiguous`` and utility on ``disambiguated`` for a layer or none."""
    out = bias_metrics(ambiguous, refined_logprobs(layer, ambiguous.topk))
    if disambiguated is not None:
        out.update(utility_metrics(disambiguated, refined_logprobs(layer, disambiguated.topk)))
    return out


def relative_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float | None]:
    """(after - before) / before for each bias metric (None when before is 0)."""
    out: dict[str, float | None] = {}
    for key in ("delta", "epsilon", "mu", "eta"):
        b, a = before.get(key), after.get(key)
        out[key] = None if not b else (a - b) / b
    if "accuracy" in before and "accuracy" in after:
        out["accuracy_points"] = 100.0 * (after["accuracy"] - before["accuracy"])
    return out


def format_table(before: dict[str, Any], after: dict[str, Any], title: str = "") -> str:
    """The REFINE-LM paper's table: positional error, attributive error, bias intensity mu/eta
    for the model without and with the layer, plus disambiguated accuracy."""
    cols = [("delta", "Pos. err. δ"), ("epsilon", "Attr. err. ε"), ("mu", "μ"), ("eta", "η"),
            ("accuracy", "Disamb. acc."), ("answer_prob", "Ans. prob.")]
    cols = [c for c in cols if c[0] in before]
    width = 14
    lines = []
    if title:
        lines.append(title)
    lines.append(f"{'':<16}" + "".join(f"{h:>{width}}" for _, h in cols))
    for label, row in (("base LM", before), ("+ REFINE-LM", after)):
        lines.append(f"{label:<16}" + "".join(f"{row[k]:>{width}.4f}" for k, _ in cols))
    change = []
    for key, _ in cols:
        b, a = before[key], after[key]
        if key in ("accuracy", "answer_prob"):
            change.append(f"{100 * (a - b):>+{width - 3}.1f} pt")
        else:
            change.append(f"{100 * (a - b) / b:>+{width - 1}.1f}%" if b else f"{'n/a':>{width}}")
    lines.append(f"{'change':<16}" + "".join(change))
    return "\n".join(lines)


def load_questions(data: str | Path, split: str, categories: Sequence[str]) -> list[Any]:
    """UnQover questions of ``split`` in ``categories`` (DataError naming what exists if none)."""
    from fairguard.data.loaders import load_unqover

    questions = load_unqover(data, split)
    wanted = set(categories)
    kept = [q for q in questions if q.category in wanted]
    if not kept:
        have = sorted({q.category for q in questions})
        raise DataError(f"{data}: unqover/{split} has no questions in {', '.join(sorted(wanted))}; "
                        f"categories present: {', '.join(have) or '(none)'}")
    return kept


def cap_quads(questions: list[Any], max_quads: int, rng: random.Random) -> list[Any]:
    """Keep at most ``max_quads`` whole quads (chosen at random), so no quad is broken."""
    if not max_quads:
        return questions
    keys: dict[tuple, list[Any]] = {}
    for q in questions:
        keys.setdefault((q.category, q.template_id, q.x1, q.x2, q.attribute_id), []).append(q)
    chosen = list(keys)
    if len(chosen) <= max_quads:
        return questions
    rng.shuffle(chosen)
    keep = set(chosen[:max_quads])
    return [q for q in questions if (q.category, q.template_id, q.x1, q.x2, q.attribute_id) in keep]


def cap_questions(questions: list[Any], n: int, rng: random.Random) -> list[Any]:
    """At most ``n`` of ``questions`` (chosen at random, order kept); all of them when ``n`` is 0."""
    if not n or len(questions) <= n:
        return questions
    return [questions[i] for i in sorted(rng.sample(range(len(questions)), n))]


def run_refine_eval(config: RefineEvalConfig, *, cache: bool = True) -> tuple[dict[str, Any], str]:
    """Metrics without/with the layer on ``config.split``; writes ``metrics.json`` and
    ``metrics.md`` into ``config.out`` (atomically) and returns ``(metrics, table)``."""
    from fairguard.artifacts import atomic_output_dir
    from fairguard.evaluation.report import write_report
    from fairguard.models import cache_dir
    from fairguard.refine.layer import load_layer

    model, layer_dir, data, out, split = config.model, config.layer, config.data, config.out, config.split
    if Path(out).exists() and not config.overwrite:  # fail before the slow part
        from fairguard.errors import ArtifactError

        raise ArtifactError(f"{out} already exists; choose another --out or pass --overwrite")
    lm = load_base_lm(model)
    layer, meta = load_layer(layer_dir, fingerprint=lm.fingerprint)
    cats = [c.strip() for c in (config.category or ",".join(meta.get("categories", []))).split(",") if c.strip()]
    if not cats:
        raise ConfigError("no category given and the layer records none; pass --category")
    rng = random.Random(config.seed)
    amb_q = cap_quads(load_questions(data, split, cats), config.max_quads, rng)
    dis_q = cap_questions(load_questions(data, f"disambig_{split}", cats), config.max_disambig, rng)
    where = (cache_dir() / "refine") if cache else None
    prefix = str(meta.get("answer_prefix") or "")
    amb = prepare_set(lm, split, amb_q, layer.k, cache_dir=where, answer_prefix=prefix)
    dis = prepare_set(lm, f"disambig_{split}", dis_q, layer.k, cache_dir=where, ambiguous=False,
                      answer_prefix=prefix)
    before = evaluate(None, amb, dis)
    after = evaluate(layer, amb, dis)
    metrics = {"model": model, "layer": str(layer_dir), "categories": cats, "split": split,
               "without_layer": before, "with_layer": after,
               "relative_change": relative_changes(before, after),
               "skipped": {"ambiguous": amb.skipped, "disambiguated": dis.skipped}}
    table = format_table(before, after, f"{', '.join(cats)} ({split} split, {model}):")
    with atomic_output_dir(out, config.overwrite) as tmp:
        write_report(tmp, metrics, "```\n" + table + "\n```\n")
    return metrics, table
