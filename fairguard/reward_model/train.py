"""Training the multi-head reward model: per-head BCE plus a same-prompt ranking term.

Loss per batch (``B`` dataset rows -> up to ``4B`` (prompt, response) pairs):

    L = mean over labelled (pair, head) of BCE(logit, label)
        + pairwise_weight * mean over heads of mean over rows of softplus(-(z_neutral - z_negative))

where ``z_negative`` is the biased / off-topic / corrupted response of the same prompt for the
fairness / relevance / fluency head. The BCE term gives calibrated absolute scores (the guard
thresholds them); the ranking term (a Bradley-Terry / logistic pairwise loss) forces the
comparison the metric asks for: the same prompt, neutral above biased.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from fairguard.artifacts import atomic_output_dir, write_json
from fairguard.data.broad import STATEMENT_SCENARIO
from fairguard.errors import ArtifactError, ConfigError, DataError
from fairguard.loops import BestState, WeightAverage, seed_everything
from fairguard.reward_model.augment import (
    composite_pairs,
    decline_pairs,
    elsewhere_pairs,
    group_swap_pairs,
    hollow_pairs,
    sentence_pairs,
    short_pairs,
)
from fairguard.reward_model.calibrate import validation_calibration
from fairguard.reward_model.config import RewardTrainConfig, resolve_mixed_precision
from fairguard.reward_model.distributed import (
    Processes,
    finish,
    mean_over_processes,
    peer_failures,
    predict_probs_sharded,
    processes_report,
    shard_rows,
    start_processes,
    wrap_model,
)
from fairguard.reward_model.examples import (
    LABELS,
    PairRow,
    build_examples,
    data_fingerprint,
    load_split,
)
from fairguard.reward_model.extra import with_extra_rows
from fairguard.reward_model.handwritten import handwritten_rows
from fairguard.reward_model.inference import predict_probs
from fairguard.reward_model.layout import layout_rows
from fairguard.reward_model.metrics import by_category, head_metrics, selection_score
from fairguard.reward_model.model import KIND, build_reward_model
from fairguard.reward_model.tokenize import tokenize_pairs
from fairguard.reward_model.truncation import cut_and_end, truncate_rows

TOKENIZATION = "tokenizer(prompt, response, truncation=True, max_length=max_length, padding=True)"
METRICS_FILE = "metrics.json"
PLOT_FILE = "training.png"


@dataclass
class TrainResult:
    """Where the model went and its test metrics."""

    out: Path
    metrics: dict[str, Any]
    main_process: bool = True  # False on the other ranks of a torchrun / accelerate launch run


log = logging.getLogger(__name__)


def evaluate_rows(model: Any, tokenizer: Any, rows: list[PairRow], heads: tuple[str, ...],
                  max_length: int, batch_size: int, device: str, thresholds: dict[str, float],
                  desc: str, progress: bool, with_categories: bool = False,
                  processes: Processes | None = None) -> dict[str, Any]:
    """Score every (prompt, response) pair of ``rows`` and compute the metrics (with
    ``processes``, every process scores a shard and all get the same metrics)."""
    examples = build_examples(rows, heads)
    probs = predict_probs_sharded(processes, model, tokenizer, examples.prompts, examples.responses,
                                  max_length, batch_size, device, progress=progress, desc=desc)
    metrics = head_metrics(examples, probs, thresholds)
    metrics["n_rows"] = len(rows)
    if with_categories:
        metrics["by_category"] = by_category(examples, probs, [row.category for row in rows])
    return metrics


def freeze_layers(model: Any, n: int | None) -> int:
    """Freeze the embeddings and the first ``n`` encoder (or decoder) layers; return how many
    were frozen.

    The encoder's own position tables that every layer reads (MPNet's relative attention bias,
    DeBERTa's relative embeddings) are frozen with the embeddings: trainable, they would pull the
    gradient back through the frozen layers, which then cost as much to train as the others.
    ``n`` = 0 freezes nothing; ``None`` freezes a third of the layers (2 of MiniLM-L6's 6), and
    nothing on backbones whose layers cannot be found.
    """
    if n == 0:
        return 0
    base = model.base_model
    # encoders (BERT, DeBERTa): encoder.layer and embeddings; decoders (Llama): layers, embed_tokens
    layers = getattr(getattr(base, "encoder", None), "layer", None) or getattr(base, "layers", None)
    embeddings = getattr(base, "embeddings", None) or getattr(base, "embed_tokens", None)
    if n is None:
        if layers is None or embeddings is None:
            return 0
        n = len(layers) // 3
        if n == 0:
            return 0
    if layers is None or embeddings is None:
        raise ConfigError(f"freeze_layers is not supported for {type(model).__name__}; set it to 0")
    if n > len(layers):
        raise ConfigError(f"freeze_layers={n} but the backbone has only {len(layers)} layers")
    for param in [*embeddings.parameters(), *encoder_shared_parameters(model),
                  *(p for layer in layers[:n] for p in layer.parameters())]:
        param.requires_grad_(False)
    return n


def encoder_shared_parameters(model: Any) -> list[Any]:
    """The encoder's parameters outside its layers: the position tables that every layer reads
    (MPNet's relative attention bias, DeBERTa's relative embeddings); none on BERT or decoders."""
    encoder = getattr(model.base_model, "encoder", None)
    layers = getattr(encoder, "layer", None)
    if encoder is None or layers is None:
        return []
    in_layers = {id(param) for param in layers.parameters()}
    return [param for param in encoder.parameters() if id(param) not in in_layers]


def probe_heads(model: Any) -> list[Any]:
    """Freeze every trainable backbone parameter, leaving the classifier heads (and a BERT
    pooler) to train alone; return the frozen parameters so they can train again later."""
    heads_only = ("classifier", "pooler", "score")
    frozen = [param for name, param in model.named_parameters()
              if param.requires_grad and not any(part in name.split(".") for part in heads_only)]
    for param in frozen:
        param.requires_grad_(False)
    return frozen


def _overlap(train: list[PairRow], test: list[PairRow]) -> dict[str, Any]:
    """How many test templates/groups also occur in train (held-out means 0)."""
    out = {}
    for key in ("template_id", "group"):
        test_values = {getattr(r, key) for r in test if getattr(r, key)}
        train_values = {getattr(r, key) for r in train if getattr(r, key)}
        out[key] = {"test_distinct": len(test_values),
                    "also_in_train": len(test_values & train_values)}
    return out


LENGTH_GROUP_BATCHES = 50  # batches whose rows are sorted by length together


def group_by_length(order: list[int], lengths: list[int], batch_size: int,
                    rng: np.random.Generator) -> list[int]:
    """``order`` rearranged so that each batch holds rows of similar length (less padding):
    every run of ``LENGTH_GROUP_BATCHES`` batches is sorted by length and cut into batches,
    and the full batches are shuffled (a short one stays last, so that batches start at
    multiples of ``batch_size``). Same rows, same seed: same order."""
    size = batch_size * LENGTH_GROUP_BATCHES
    batches = []
    for start in range(0, len(order), size):
        chunk = sorted(order[start:start + size], key=lambda i: lengths[i])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    full = [b for b in batches if len(b) == batch_size]
    short = [b for b in batches if len(b) < batch_size]
    return [i for b in rng.permutation(len(full)) for i in full[b]] + [i for b in short for i in b]


PAIRS_PER_FORWARD = 16


def batch_logits(net: Any, tokenizer: Any, prompts: list[str], responses: list[str],
                 max_length: int, device: str, split: bool) -> Any:
    """Logits ``[pairs, heads]`` of one training batch in the pairs' order. With ``split``,
    pairs of about the same length share a forward pass of up to :data:`PAIRS_PER_FORWARD`,
    so that one long pair does not pad the whole batch to its length (the same logits; under
    DistributedDataParallel, which wants one forward per backward, pass ``split=False``)."""
    import torch

    chunks = [list(range(len(prompts)))]
    if split and len(prompts) > PAIRS_PER_FORWARD:
        order = sorted(chunks[0], key=lambda i: len(prompts[i]) + len(responses[i]))
        chunks = [order[i:i + PAIRS_PER_FORWARD] for i in range(0, len(order), PAIRS_PER_FORWARD)]
    parts = []
    for chunk in chunks:
        enc = tokenize_pairs(tokenizer, [prompts[i] for i in chunk], [responses[i] for i in chunk],
                             max_length)
        parts.append(net(**{k: v.to(device) for k, v in enc.items()}).logits.float())
    if len(parts) == 1:
        return parts[0]
    where = torch.empty(len(prompts), dtype=torch.long, device=parts[0].device)
    where[torch.tensor([i for chunk in chunks for i in chunk], device=where.device)] = \
        torch.arange(len(prompts), device=where.device)
    return torch.cat(parts)[where]


def training_autocast(precision: str, device: str) -> Any:
    """The context a run's forward passes (training steps, validation, calibration, the test
    report) run in: bfloat16 autocast for ``"bf16"`` (refused on a CPU that would emulate
    bfloat16), else a no-op."""
    import contextlib

    import torch

    if precision == "no":
        return contextlib.nullcontext()
    if precision != "bf16":
        raise ConfigError(f"mixed precision {precision!r} is not resolved; give no or bf16")
    cuda = device.startswith("cuda")
    if not native_bf16(device):
        raise ConfigError("--mixed-precision bf16: this GPU has no bfloat16; use no" if cuda else
                          "--mixed-precision bf16: this CPU has no native bfloat16 (AMX or "
                          "AVX-512 BF16) and would emulate it, slower than float32; use no")
    return torch.autocast("cuda" if cuda else "cpu", dtype=torch.bfloat16)


def native_bf16(device: str) -> bool:
    """Whether ``device`` computes bfloat16 natively (a GPU with bfloat16; a CPU with AMX or
    AVX-512 BF16), so that bfloat16 autocast pays."""
    import torch

    if device.startswith("cuda"):
        return bool(torch.cuda.is_bf16_supported())
    from fairguard.training.rollout import bf16_decoding_supported

    return bf16_decoding_supported()


def _cut_and_end(rows: list[PairRow], config: RewardTrainConfig) -> list[PairRow]:
    """``rows`` with answers cut off (``truncate_prob``) and ended (``end_mark_prob``) as the
    training answers are."""
    return cut_and_end(rows, config.truncate_prob, config.end_mark_prob, config.seed)


def _fit(config: RewardTrainConfig, model: Any, tokenizer: Any, train_rows: list[PairRow],
         val_rows: list[PairRow], device: str, processes: Processes) -> dict[str, Any]:
    """The training loop; leaves the best-validation weights in ``model``.

    With distributed ``processes`` (a torchrun / accelerate launch run) each process trains on its rows of
    every batch of ``config.batch_size`` rows (DDP) and all keep the same best epoch.
    """
    import torch
    import torch.nn.functional as F
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    heads = config.head_names
    whole_rows = train_rows  # composites join whole answers, before any is cut off
    train_rows = layout_rows(_cut_and_end(train_rows, config), config.layout_prob, config.seed)
    examples = build_examples(train_rows, heads)
    if len(examples) == 0:
        raise DataError(f"{config.data}: the train split gives no labelled pairs for heads {list(heads)}")
    added = (elsewhere_pairs(examples, train_rows, config.elsewhere_prob, config.seed),
             sentence_pairs(examples, train_rows, config.sentence_prob, config.seed),
             composite_pairs(examples, whole_rows, config.composite_prob, config.seed,
                             fits=lambda p, r: [len(ids) <= config.max_length for ids in
                                                tokenizer(p, r, truncation=False)["input_ids"]]),
             hollow_pairs(examples, train_rows, config.hollow_prob, config.seed,
                          config.hollow_descriptions),
             decline_pairs(examples, train_rows, config.decline_prob, config.seed),
             short_pairs(examples, whole_rows, config.short_prob, config.seed),
             group_swap_pairs(examples, train_rows, config.group_swap_prob, config.seed))
    log.info("training pairs: %d from %d rows, of which %d under another row's prompt, %d "
             "single fair sentences, %d composite answers, %d hollow answers (or their answered "
             "twins), %d declines, %d short answers (or their garbled copies) and %d with their group swapped",
             len(examples), len(train_rows), *added)
    pairs_of_row: list[list[int]] = [[] for _ in train_rows]
    for i, r in enumerate(examples.row_index):
        pairs_of_row[r].append(i)
    ranking_of_row: dict[str, dict[int, list[tuple[int, int]]]] = {head: {} for head in examples.ranking}
    for head, pairs in examples.ranking.items():
        for p, n in pairs:
            ranking_of_row[head].setdefault(examples.row_index[p], []).append((p, n))
    distillation = None
    if config.teacher is not None:  # the teacher's scores blended into the labels
        from fairguard.reward_model.distill import distilled_targets

        targets, distillation = distilled_targets(config, examples, heads)
        labels_all = torch.tensor(targets, dtype=torch.float32)
    else:
        labels_all = torch.tensor(examples.labels, dtype=torch.float32)
    bias_all, debias_report = _bias_logits(config, examples, heads)
    head_weights = None if all(w == 1.0 for w in config.loss_weights) else \
        torch.tensor([config.loss_weights], dtype=torch.float32, device=device)

    frozen = freeze_layers(model, config.freeze_layers)
    model.to(device)
    epochs = int(config.epochs or 0)  # resolved from the backbone's recipe by the config
    autocast = training_autocast(config.mixed_precision, device)
    net = wrap_model(processes, model)  # DistributedDataParallel under a launcher, else model
    no_decay = ("bias", "LayerNorm.weight", "layernorm.weight", "LayerNorm.bias")
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    params = [
        {"params": [p for n, p in trainable if not any(k in n for k in no_decay)],
         "weight_decay": config.weight_decay},
        {"params": [p for n, p in trainable if any(k in n for k in no_decay)],
         "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate)
    repeats = [config.statement_repeats if row.scenario == STATEMENT_SCENARIO else 1
               for row in train_rows]
    pool = np.repeat(np.arange(len(train_rows)), repeats)  # row indices, statements repeated
    rows_per_epoch = min(config.rows_per_epoch or len(pool), len(pool))
    steps_per_epoch = (rows_per_epoch + config.batch_size - 1) // config.batch_size
    total_steps = steps_per_epoch * epochs
    probe_steps = int(round(config.probe_fraction * total_steps))
    if probe_steps and processes.distributed:
        raise ConfigError("probe_fraction needs one process (DistributedDataParallel cannot change "
                          "which parameters train mid-run); set it to 0 under torchrun / accelerate")
    tuned = probe_heads(model) if probe_steps else []
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps),
                                                total_steps)
    rng = np.random.default_rng(config.seed)
    stream: list[int] = []  # a seeded shuffle of all rows, refilled when used up
    row_chars = [max((len(examples.prompts[i]) + len(examples.responses[i]) for i in pairs),
                     default=0) for pairs in pairs_of_row]
    thresholds = {head: 0.5 for head in heads}
    history: list[dict[str, Any]] = []
    step_losses: list[float] = []
    best = BestState()
    average = WeightAverage(start=total_steps - int(round(config.average_last * total_steps)))
    averaged: dict[str, Any] | None = None
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        while len(stream) < rows_per_epoch:
            stream.extend(int(i) for i in rng.permutation(pool))
        order, stream = stream[:rows_per_epoch], stream[rows_per_epoch:]
        order = group_by_length(order, row_chars, config.batch_size, rng)
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch}/{epochs}",
                   disable=not config.progress, leave=False)
        epoch_losses = []
        for step in bar:
            if tuned and len(step_losses) == probe_steps:
                for param in tuned:  # the probe is over: the encoder trains from here on
                    param.requires_grad_(True)
                tuned = []
            batch_rows = order[step * config.batch_size:(step + 1) * config.batch_size]
            batch_rows, weight = shard_rows(processes, batch_rows)  # all rows, 1.0 in one process
            idx = [i for r in batch_rows for i in pairs_of_row[r]]
            local = {g: j for j, g in enumerate(idx)}
            with autocast:
                logits = batch_logits(net, tokenizer, [examples.prompts[i] for i in idx],
                                      [examples.responses[i] for i in idx], config.max_length,
                                      device, split=not processes.distributed)
            labels = labels_all[idx].to(device)
            mask = ~torch.isnan(labels)
            if bias_all is not None:  # product of experts: the judge learns what words cannot tell
                logits = logits + bias_all[idx].to(device)
            if head_weights is None:
                loss = F.binary_cross_entropy_with_logits(logits[mask], labels[mask])
            else:
                w = head_weights.expand_as(labels)[mask]
                per_pair = F.binary_cross_entropy_with_logits(logits[mask], labels[mask],
                                                              reduction="none")
                loss = (per_pair * w).sum() / w.sum()
            if config.pairwise_weight > 0:
                terms, term_weights = [], []
                for h, head in enumerate(heads):
                    pairs = [pair for r in batch_rows for pair in ranking_of_row[head].get(r, ())]
                    if pairs:
                        pos = torch.tensor([local[p] for p, _ in pairs], device=device)
                        neg = torch.tensor([local[n] for _, n in pairs], device=device)
                        terms.append(F.softplus(-(logits[pos, h] - logits[neg, h])).mean())
                        term_weights.append(config.loss_weights[h])
                if terms:
                    stacked = torch.stack(terms)
                    ranking = stacked.mean() if head_weights is None else \
                        (stacked * stacked.new_tensor(term_weights)).sum() / sum(term_weights)
                    loss = loss + config.pairwise_weight * ranking
            if weight != 1.0:
                loss = loss * weight
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            average.update(model, len(step_losses) + 1)
            value = mean_over_processes(processes, float(loss.detach()))
            step_losses.append(value)
            epoch_losses.append(value)
            bar.set_postfix(loss=f"{np.mean(epoch_losses[-20:]):.4f}")
        bar.close()
        with autocast:
            val = evaluate_rows(model, tokenizer, val_rows, heads, config.max_length,
                                config.eval_batch_size, device, thresholds,
                                desc=f"val {epoch}", progress=config.progress, processes=processes)
        score = selection_score(val)
        history.append({"epoch": epoch, "train_loss": float(np.mean(epoch_losses)),
                        "val": val, "val_selection_score": score,
                        "elapsed_s": round(time.perf_counter() - start, 1)})
        improved = best.update(score, model, epoch)
        if config.progress:
            aucs = ", ".join(f"{h} auc {val['heads'][h]['roc_auc'] or float('nan'):.3f}" for h in heads)
            fair = val.get("fairness_pairwise_accuracy")
            fair_text = f", fairness pairwise {fair:.3f}" if fair is not None else ""
            tqdm.write(f"epoch {epoch}: loss {np.mean(epoch_losses):.4f}; val {aucs}{fair_text}"
                       f"{' (best)' if improved else ''}")
    if average.count:  # the average replaces the best epoch's weights; its own val is reported
        average.restore(model)
        with autocast:
            val = evaluate_rows(model, tokenizer, val_rows, heads, config.max_length,
                                config.eval_batch_size, device, thresholds, desc="val average",
                                progress=config.progress, processes=processes)
        best.update(selection_score(val), model, epochs, force=True)
        averaged = {"steps": average.count, "val": val, "val_selection_score": best.score}
        if config.progress:
            tqdm.write(f"weights averaged over the last {average.count} steps: val selection "
                       f"score {best.score:.4f}")
    best.restore(model)
    return {"history": history, "step_losses": step_losses, "best_epoch": best.step or 0,
            "averaged": averaged,
            "rows_per_epoch": rows_per_epoch, "frozen_layers": frozen,
            "best_val_selection_score": best.score, "thresholds": thresholds,
            "probe_steps": probe_steps, "debias_bow": debias_report,
            "distillation": distillation, "train_seconds": round(time.perf_counter() - start, 1),
            "train_pairs": len(examples), **processes_report(processes, model)}


def _bias_logits(config: RewardTrainConfig, examples: Any, heads: Sequence[str]
                 ) -> tuple[Any, dict[str, Any] | None]:
    """``(n_examples, n_heads)`` logits added to the judge's in the training loss: the fairness
    column holds ``config.debias_bow`` x a word model's out-of-fold logits (None when off)."""
    if not config.debias_bow or "fairness" not in heads:
        return None, None
    import torch

    from fairguard.reward_model.debias import bow_bias_logits

    column = list(heads).index("fairness")
    labels = np.asarray(examples.labels, dtype=float)[:, column]
    logits, report = bow_bias_logits(examples.responses, labels, examples.row_index, config.seed)
    bias = torch.zeros(labels.shape[0], len(heads), dtype=torch.float32)
    bias[:, column] = torch.from_numpy(logits) * float(config.debias_bow)
    return bias, {**report, "scale": float(config.debias_bow)}


def _calibrate(config: RewardTrainConfig, model: Any, tokenizer: Any, rows: list[PairRow],
               device: str) -> dict[str, Any]:
    """Thresholds for ``config.false_flag_rate`` from every validation row (its answers cut off
    and ended as training answers are, with ``config.calibrate_cut``), disguised words read in
    their plain spelling as the scorers read them."""
    from fairguard.reward_model.disguise import Undisguiser

    if config.calibrate_cut:
        rows = _cut_and_end(rows, config)
    examples = build_examples(rows, config.head_names)
    prompts, responses = Undisguiser(tokenizer).reveal_pairs(examples.prompts, examples.responses)
    probs = predict_probs(model, tokenizer, prompts, responses, config.max_length,
                          config.eval_batch_size, device, progress=config.progress,
                          desc="calibration")
    return validation_calibration(examples, probs, config.false_flag_rate, len(rows),
                                  config.calibrate_cut)


def _dilution(config: RewardTrainConfig, model: Any, tokenizer: Any, rows: list[PairRow],
              device: str, threshold: float) -> dict[str, Any]:
    """One biased test sentence among 3-30 neutral ones, scored in windows: share flagged."""
    from fairguard.evaluation.dilution import dilution_cases, dilution_report
    from fairguard.reward_model.windows import score_windowed

    def score(prompts: list[str], responses: list[str]) -> dict[str, Any]:
        return score_windowed(
            lambda p, r: predict_probs(model, tokenizer, p, r, config.max_length,
                                       config.eval_batch_size, device, progress=config.progress,
                                       desc="dilution"),
            tokenizer, prompts, responses, config.head_names, config.max_length)

    return dilution_report(score, dilution_cases(rows, config.seed, config.dilution_cases), threshold)


def train_reward_model(config: RewardTrainConfig) -> TrainResult:
    """Train on ``config.data`` and write the reward-model folder to ``config.out`` atomically."""
    from fairguard.reward_model.plot import plot_training

    out = Path(config.out)
    if out.exists() and not config.overwrite:
        raise ArtifactError(f"{out} already exists; choose another --out or pass --overwrite")
    heads = config.head_names
    if config.teacher is not None:  # a bad teacher stops the run before any work
        from fairguard.reward_model.distill import check_teacher

        check_teacher(str(config.teacher), heads)
    train_rows = load_split(config.data, "train", config.limit)
    train_rows, extra_data = with_extra_rows(train_rows, config)  # users' --extra-data files
    val_rows = all_val_rows = load_split(config.data, "val", config.limit)
    test_rows = load_split(config.data, "test", config.limit)
    if config.val_rows is not None and config.val_rows < len(val_rows):
        keep = np.random.default_rng(config.seed).choice(len(val_rows), config.val_rows, replace=False)
        val_rows = [val_rows[i] for i in sorted(keep)]
    fingerprint = data_fingerprint(config.data)
    processes = start_processes(config.device, config.batch_size)  # torchrun / accelerate launch
    device = processes.device
    if config.mixed_precision == "auto":
        config = replace(config, mixed_precision=resolve_mixed_precision(
            "auto", config.backbone, native_bf16(device)))
        log.info("mixed precision auto -> %s (%s: lr %g, %d epochs)", config.mixed_precision,
                 config.backbone, config.learning_rate, config.epochs)
    training_autocast(config.mixed_precision, device)  # refuses an emulated bf16 before any work
    seed_everything(config.seed)
    model, tokenizer, location = build_reward_model(config.backbone, heads)
    if not processes.is_main:  # trains its rows of each batch; rank 0 alone evaluates and writes
        with peer_failures(processes):
            _fit(replace(config, progress=False), model, tokenizer, train_rows, val_rows, device,
                 processes)
        finish(processes)
        return TrainResult(out=out, metrics={}, main_process=False)
    with atomic_output_dir(out, overwrite=config.overwrite) as tmp:
        with peer_failures(processes):
            fit = _fit(config, model, tokenizer, train_rows, val_rows, device, processes)
        with training_autocast(config.mixed_precision, device):
            calibration = _calibrate(config, model, tokenizer, all_val_rows, device)
            thresholds = calibration["thresholds"]
            test = evaluate_rows(model, tokenizer, test_rows, heads, config.max_length,
                                 config.eval_batch_size, device, thresholds, desc="test",
                                 progress=config.progress, with_categories=True)
            # the same test rows with every response cut off mid-sentence, as a policy's answers are
            cut = evaluate_rows(model, tokenizer, truncate_rows(test_rows, 1.0, config.seed), heads,
                                config.max_length, config.eval_batch_size, device, thresholds,
                                desc="test (cut off)", progress=config.progress)
            hand = evaluate_rows(model, tokenizer, handwritten_rows(), heads, config.max_length,
                                 config.eval_batch_size, device, thresholds, desc="handwritten",
                                 progress=False, with_categories=True)
            dilution = (_dilution(config, model, tokenizer, test_rows, device, thresholds["fairness"])
                        if "fairness" in heads and config.dilution_cases else None)
        metrics = {
            "split": "test",
            **test,
            "test_cut_off": cut,
            "calibration": calibration,
            "dilution": dilution,
            "handwritten": hand,
            "best_epoch": fit["best_epoch"],
            "best_val_selection_score": fit["best_val_selection_score"],
            "averaged": fit["averaged"],
            "epochs": fit["history"],
            "train_seconds": fit["train_seconds"],
            "train_rows": len(train_rows),
            "rows_per_epoch": fit["rows_per_epoch"],
            "frozen_layers": fit["frozen_layers"], "probe_steps": fit["probe_steps"],
            "debias_bow": fit["debias_bow"],
            "distillation": fit["distillation"],
            "val_rows": len(val_rows),
            "train_pairs": fit["train_pairs"],
            **({"distributed": fit["distributed"]} if "distributed" in fit else {}),
            "extra_data": extra_data,
            "split_overlap": _overlap(train_rows, test_rows),
        }
        model.to("cpu")
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        summary = {
            "test": {head: {k: test["heads"][head][k] for k in ("accuracy", "roc_auc", "pairwise_accuracy")}
                     for head in heads},
            "fairness_pairwise_accuracy": test.get("fairness_pairwise_accuracy"),
            "handwritten": {head: {k: hand["heads"][head][k] for k in ("accuracy", "roc_auc", "pairwise_accuracy")}
                            for head in heads},
            "best_epoch": fit["best_epoch"],
        }
        write_json(tmp / "fairguard.json", {
            "kind": KIND,
            "heads": list(heads),
            "thresholds": thresholds,
            "calibration": calibration,
            "backbone": config.backbone,
            "backbone_location": location,
            "max_length": config.max_length,
            "tokenization": TOKENIZATION,
            "labels": {kind: {h: LABELS[kind][h] for h in heads} for kind in LABELS},
            "data": str(config.data),
            "data_fingerprint": fingerprint,
            "extra_data": extra_data,
            "metrics": summary,
            "train_config": config.to_dict(),
        })
        write_json(tmp / METRICS_FILE, metrics)
        plot_training(fit["step_losses"], fit["history"], tmp / PLOT_FILE)
    finish(processes)  # the other ranks wait here for the artifact
    return TrainResult(out=out, metrics=metrics)
