"""Evaluating a trained layer on its base LM: the library side of ``fairguard eval refine``."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from fairguard.errors import ConfigError


def run_eval(model: str, layer_dir: str | Path, data: str | Path, out: str | Path, *,
             category: str | None = None, split: str = "test", max_quads: int = 0,
             max_disambig: int = 0, seed: int = 0, overwrite: bool = False,
             cache: bool = True) -> tuple[dict[str, Any], str]:
    """Metrics without/with the layer on ``split``; writes ``metrics.json`` and ``metrics.md``
    into ``out`` (atomically) and returns ``(metrics, table)``."""
    from fairguard.artifacts import atomic_output_dir, write_json
    from fairguard.models import cache_dir
    from fairguard.refine.evaluate import evaluate, format_table, load_base_lm, prepare_set, relative_changes
    from fairguard.refine.layer import load_layer
    from fairguard.refine.train import _cap, _cap_quads, load_questions

    if split not in ("test", "train"):
        raise ConfigError(f"split must be test or train, got {split!r}")
    if Path(out).exists() and not overwrite:  # fail before the slow part
        from fairguard.errors import ArtifactError

        raise ArtifactError(f"{out} already exists; choose another --out or pass --overwrite")
    lm = load_base_lm(model)
    layer, meta = load_layer(layer_dir, fingerprint=lm.fingerprint)
    cats = [c.strip() for c in (category or ",".join(meta.get("categories", []))).split(",") if c.strip()]
    if not cats:
        raise ConfigError("no category given and the layer records none; pass --category")
    rng = random.Random(seed)
    amb_q = _cap_quads(load_questions(data, split, cats), max_quads, rng)
    dis_q = _cap(load_questions(data, f"disambig_{split}", cats), max_disambig, rng)
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
    with atomic_output_dir(out, overwrite) as tmp:
        write_json(tmp / "metrics.json", metrics)
        (tmp / "metrics.md").write_text("```\n" + table + "\n```\n")
    return metrics, table
