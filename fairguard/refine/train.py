"""Training a REFINE-LM layer as a contextual bandit over the frozen LM's cached top-k.

Contexts are UnQover questions (the LM's top-k at the answer slot), the action is the token
answered at the slot, drawn from the layer's policy pi = softmax(Linear(top-k log-probs)), and
the reward is :func:`fairguard.refine.reward.reward` over a mini-batch: minus the bias terms of
its ambiguous quads plus the utility on a mini-batch of disambiguated questions.

The reward is a function of the subject scores, which are expectations under pi of indicator
rewards; so its policy gradient can be taken in two ways (``estimator``):

- ``"exact"`` (default): the all-actions expected policy gradient, sum_a r(a) grad pi(a), which
  for this reward is simply the gradient of the reward through pi (no sampling noise);
- ``"sample"``: REINFORCE. Each question samples ``samples`` actions a ~ pi; action a's reward
  is its marginal contribution to the batch reward, r_q(a) = dR/dpi_q(a) (the reward
  linearised at the current policy), with the baseline b_q = sum_a pi_q(a) r_q(a); the loss is
  -mean (r_q(a) - b_q) log pi_q(a). In expectation it equals the exact gradient.

The LM's top-k are computed once (:mod:`fairguard.refine.cache`); an epoch only runs the k x k
layer. 15% of the training quads and disambiguated questions are held back to pick the best
epoch; the held-out test split (other subjects and attributes) is used only for the before/after
metrics.
"""

from __future__ import annotations

import dataclasses
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from fairguard.refine.config import RefineConfig


@dataclass
class RefineResult:
    """What training produced: the layer, its metadata and metrics."""

    layer: Any
    metadata: dict[str, Any]
    metrics: dict[str, Any]
    curve: list[dict[str, float]] = field(default_factory=list)


def _split_val(n: int, share: float, rng: random.Random) -> tuple[list[int], list[int]]:
    idx = list(range(n))
    rng.shuffle(idx)
    n_val = int(round(n * share)) if n >= 4 else 0
    return sorted(idx[n_val:]), sorted(idx[:n_val])


class _Objective:
    """The batch reward of the layer on given quads and disambiguated questions."""

    def __init__(self, amb: Any, dis: Any, weights: Any):
        self.amb, self.dis, self.weights = amb, dis, weights

    def terms(self, layer: Any, quads: Any, dis_index: Any) -> dict[str, Any]:
        import torch

        from fairguard.refine.answer_slot import subject_scores
        from fairguard.refine.reward import answer_logprob, bias_terms, rank_violation, reward, subject_mass_loss

        used = quads.flatten().unique()
        logp = layer(self.amb.topk.logprobs[used])
        remap = torch.full((len(self.amb),), -1, dtype=torch.long)
        remap[used] = torch.arange(len(used))
        scores = subject_scores(logp.exp(), self.amb.topk.ids[used], self.amb.subject_ids[used])
        bias = bias_terms(scores, remap[quads])
        base = subject_scores(torch.softmax(self.amb.topk.logprobs[used], -1), self.amb.topk.ids[used],
                              self.amb.subject_ids[used])
        bias["mass"] = subject_mass_loss(scores, base)
        utility = None
        dis_logp = None
        if self.dis is not None and len(dis_index):
            dis_logp = layer(self.dis.topk.logprobs[dis_index])
            utility = answer_logprob(dis_logp, self.dis.topk.ids[dis_index],
                                     self.dis.answer_ids()[dis_index]).mean()
        bias["order"] = rank_violation(torch.cat([logp] + ([dis_logp] if dis_logp is not None else [])))
        total = reward(bias, utility, self.weights)
        return {"reward": total, "logp": logp, "dis_logp": dis_logp, "utility": utility, **bias}


def _sample_loss(terms: dict[str, Any], samples: int, generator: Any) -> Any:
    """REINFORCE loss with per-action rewards r_q(a) = dR/dpi_q(a) and baseline E_pi[r_q]."""
    import torch

    loss = 0.0
    pieces = [terms["logp"]] + ([terms["dis_logp"]] if terms["dis_logp"] is not None else [])
    grads = torch.autograd.grad(terms["reward"], pieces, retain_graph=True)  # dR/dlog pi
    for logp, g_logp in zip(pieces, grads):
        pi_d = logp.detach().exp()
        g = g_logp.detach() / pi_d.clamp(min=1e-12)  # dR/dpi = dR/dlog pi / pi
        actions = torch.multinomial(pi_d, samples, replacement=True, generator=generator)  # [N, M]
        r = g.gather(1, actions)
        baseline = (pi_d * g).sum(-1, keepdim=True)
        loss = loss - ((r - baseline) * logp.gather(1, actions)).mean(1).sum()
    return loss


def train_layer(amb: Any, dis: Any, config: RefineConfig, k: int,
                progress: bool = True, log: Callable[[str], None] | None = None
                ) -> tuple[Any, list[dict[str, float]]]:
    """Train a layer on prepared question sets; return it (best validation epoch) and the curve."""
    import torch
    from tqdm.auto import tqdm

    from fairguard.loops import BestState, seed_everything
    from fairguard.refine.layer import RefineLayer
    from fairguard.refine.reward import RewardWeights

    seed_everything(config.seed)
    rng = random.Random(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    weights = RewardWeights(config.weight_c, config.weight_positional, config.weight_attributive,
                            config.weight_utility, config.weight_mass, config.weight_order)
    layer = RefineLayer(k, keep_order=config.keep_order)
    objective = _Objective(amb, dis, weights)
    q_train, q_val = _split_val(len(amb.quads), 0.15, rng)
    n_dis = len(dis) if dis is not None else 0
    d_train, d_val = _split_val(n_dis, 0.15, rng)
    if not q_val:
        q_val = q_train
    if not d_val:
        d_val = d_train
    val_quads = amb.quads[q_val]
    val_dis = torch.tensor(d_val, dtype=torch.long)
    optimizer = torch.optim.Adam(layer.parameters(), lr=config.learning_rate)

    def validate() -> dict[str, float]:
        with torch.no_grad():
            t = objective.terms(layer, val_quads, val_dis)
        return {key: float(t[key]) for key in ("reward", "positional", "attributive", "abs_c", "mass",
                                                   "order")} | (
            {"utility": float(t["utility"])} if t["utility"] is not None else {})

    curve = [{"epoch": 0, **validate()}]
    best = BestState()
    best.update(curve[0]["reward"], layer, 0, force=True)
    steps_per_epoch = max(1, -(-len(q_train) // config.batch_quads))
    bar = tqdm(range(1, config.epochs + 1), desc="REFINE-LM", unit="epoch", disable=not progress)
    for epoch in bar:
        order = q_train[:]
        rng.shuffle(order)
        dis_order = d_train[:]
        rng.shuffle(dis_order)
        dis_batch = max(1, -(-len(dis_order) // steps_per_epoch)) if dis_order else 0
        for step in range(steps_per_epoch):
            quads = amb.quads[order[step * config.batch_quads:(step + 1) * config.batch_quads]]
            if len(quads) == 0:
                continue
            dis_idx = torch.tensor(dis_order[step * dis_batch:(step + 1) * dis_batch], dtype=torch.long)
            terms = objective.terms(layer, quads, dis_idx)
            if config.estimator == "exact":
                loss = -terms["reward"]
            else:
                loss = _sample_loss(terms, config.samples, generator)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        row = {"epoch": epoch, **validate()}
        curve.append(row)
        best.update(row["reward"], layer, epoch)
        bar.set_postfix(reward=f"{row['reward']:.4f}", pos=f"{row['positional']:.3f}",
                        attr=f"{row['attributive']:.3f}")
    best.restore(layer)
    layer.eval()
    if log:
        log(f"best validation reward {best.score:.4f} (epoch 0 = untrained: {curve[0]['reward']:.4f})")
    return layer, curve


def run_training(config: RefineConfig, progress: bool = True,
                 log: Callable[[str], None] | None = None) -> RefineResult:
    """Load the LM and questions, cache the LM's top-k, train, and evaluate before/after."""
    import torch

    from fairguard.evaluation.refine import (
        DEFAULT_K,
        cap_quads,
        cap_questions,
        evaluate,
        load_base_lm,
        load_questions,
        prepare_set,
        relative_changes,
    )
    from fairguard.models import cache_dir
    from fairguard.refine.answer_slot import prompt_format
    from fairguard.refine.cache import check_k
    from fairguard.refine.layer import tokenizer_digest

    log = log or (lambda _msg: None)
    started = time.perf_counter()
    rng = random.Random(config.seed)
    cats = config.categories()
    train_q = cap_quads(load_questions(config.data, "train", cats), config.max_quads, rng)
    test_q = cap_quads(load_questions(config.data, "test", cats), config.max_quads // 2 if config.max_quads else 0, rng)
    dis_train_q = cap_questions(load_questions(config.data, "disambig_train", cats), config.max_disambig, rng)
    dis_test_q = cap_questions(load_questions(config.data, "disambig_test", cats), config.max_disambig, rng)

    lm = load_base_lm(config.model)
    k = config.k or DEFAULT_K[lm.kind]
    check_k(k, int(lm.model.get_output_embeddings().weight.shape[0]))
    cache = (cache_dir() / "refine") if config.cache else None
    sets = {}
    for name, qs, ambiguous in (("train", train_q, True), ("disambig_train", dis_train_q, False),
                                ("test", test_q, True), ("disambig_test", dis_test_q, False)):
        sets[name] = prepare_set(lm, name, qs, k, batch_size=config.lm_batch_size,
                                 cache_dir=cache, ambiguous=ambiguous,
                                 answer_prefix=config.answer_prefix)
        log(f"{name}: {len(sets[name])} questions ({sets[name].skipped} skipped: subjects share "
            f"their slot tokens), {len(sets[name].quads)} complete quads")
    lm_seconds = time.perf_counter() - started

    before = evaluate(None, sets["test"], sets["disambig_test"])
    train_before = evaluate(None, sets["train"], sets["disambig_train"])
    t0 = time.perf_counter()
    layer, curve = train_layer(sets["train"], sets["disambig_train"], config, k, progress, log)
    train_seconds = time.perf_counter() - t0
    after = evaluate(layer, sets["test"], sets["disambig_test"])
    train_after = evaluate(layer, sets["train"], sets["disambig_train"])
    metrics = {
        "held_out": {"before": before, "after": after, "relative_change": relative_changes(before, after)},
        "train": {"before": train_before, "after": train_after},
        "counts": {name: {"questions": len(s), "skipped": s.skipped, "quads": len(s.quads)}
                   for name, s in sets.items()},
        "seconds": {"lm_topk": round(lm_seconds, 1), "layer_training": round(train_seconds, 1),
                    "total": round(time.perf_counter() - started, 1)},
    }
    meta = {
        "base_model": config.model,
        "base_fingerprint": lm.fingerprint,
        "tokenizer_digest": tokenizer_digest(lm.tokenizer),
        "lm_kind": lm.kind,
        "prompt_format": prompt_format(lm.tokenizer, lm.kind),
        "categories": cats,
        "answer_prefix": config.answer_prefix,
        "config": {k_: v for k_, v in dataclasses.asdict(config).items()},
        "metrics": {"held_out_before": before, "held_out_after": after},
        "torch": torch.__version__,
    }
    return RefineResult(layer, meta, metrics, curve)


def write_artifact(result: RefineResult, out: str | Path, overwrite: bool = False) -> Path:
    """Write the layer folder atomically: refine.safetensors, fairguard.json, metrics.json,
    curve.jsonl and refine.png."""
    from fairguard.artifacts import atomic_output_dir, write_json, write_jsonl
    from fairguard.refine.layer import save_layer
    from fairguard.refine.plot import plot_training

    with atomic_output_dir(out, overwrite) as tmp:
        save_layer(result.layer, tmp, result.metadata)
        write_json(tmp / "metrics.json", result.metrics)
        write_jsonl(tmp / "curve.jsonl", result.curve)
        plot_training(result.metrics["held_out"]["before"], result.metrics["held_out"]["after"],
                      result.curve, tmp / "refine.png")
    return Path(out)


def train_refine_layer(config: RefineConfig, out: str | Path, overwrite: bool = False,
                       progress: bool = True, log: Callable[[str], None] | None = None) -> RefineResult:
    """``fairguard train refine``: train a layer as ``config`` says and write its folder ``out``."""
    result = run_training(config, progress=progress, log=log)
    write_artifact(result, out, overwrite)
    return result
