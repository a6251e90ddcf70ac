"""Build the dataset folder: pair splits, UnQover questions, manifest and dataset card.

Splits:

- test holds out whole prompt templates, whole group terms and some stereotype wordings
  (traits): every test row uses a held-out template *and* a held-out group, and no train or
  validation row uses either (nor a held-out trait);
- val is a random sample of rows drawn like train (same templates and groups, different rows):
  it measures fit, while test measures generalisation to new templates and groups.

Everything is drawn from ``random.Random`` seeded with strings derived from the seed, so the
same seed gives byte-identical files on any machine.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fairguard.data.config import DataConfig
from fairguard.data.sampling import tries_until_full

PAIR_FIELDS = ("id", "category", "group", "scenario", "template_id", "prompt", "neutral", "biased",
               "off_topic", "corrupted", "evasive", "guess", "wrong", "form", "persons", "answer")
# what a row without the field holds (every other field: "")
FIELD_DEFAULTS: dict[str, Any] = {"persons": []}
SPLITS = ("train", "val", "test")
CATEGORY_WEIGHTS = {"region": 0.2, "ethnicity": 0.2, "occupation": 0.2, "gender": 0.14,
                    "age": 0.13, "education": 0.13}


@dataclass
class Holdout:
    """What the test split holds out."""

    groups: list[str]
    templates: list[str]
    traits: list[str]
    phrasings: list[str] = field(default_factory=list)  # answer sentences only in test
    books: dict[str, Any] = field(default_factory=dict, repr=False)  # pool -> Phrasebook
    broad: Any = None  # fairguard.data.broad.BroadHoldout


@dataclass
class BuildResult:
    """Summary of a finished build."""

    out: Path
    counts: dict[str, Any]
    fingerprint: str
    holdout: Holdout


def choose_holdout(config: DataConfig) -> Holdout:
    """Pick the held-out group terms, templates and trait wordings for ``config.seed``."""
    from fairguard.data.groups import CATEGORY_TRAITS, groups_by_category
    from fairguard.data.scenarios import SCENARIOS

    rng = random.Random(f"fairguard-holdout:{config.seed}")
    groups: list[str] = []
    for members in groups_by_category().values():
        k = max(1, round(config.heldout_group_fraction * len(members)))
        groups += sorted(g.term for g in rng.sample(members, k))
    templates: list[str] = []
    for sc in SCENARIOS:
        k = max(1, round(config.heldout_template_fraction * len(sc.prompts)))
        templates += [f"{sc.name}-{i:02d}" for i in sorted(rng.sample(range(len(sc.prompts)), k))]
    traits: list[str] = []
    for cat in sorted(CATEGORY_TRAITS):
        pool = CATEGORY_TRAITS[cat]
        if pool:
            k = max(1, round(config.heldout_trait_fraction * len(pool)))
            traits += sorted(rng.sample(pool, k))
    from fairguard.data.responses import DEFAULT_BOOK

    train_book, test_book, phrasings = DEFAULT_BOOK.split(rng, config.heldout_phrase_fraction)
    from fairguard.data.broad_lexicon import choose_broad_holdout

    broad = choose_broad_holdout(config.seed, config.heldout_group_fraction,
                                 config.heldout_template_fraction)
    return Holdout(groups, templates, traits, phrasings,
                   {"trainval": train_book, "test": test_book}, broad)


def _generate(pool: str, n: int, holdout: Holdout, rng: random.Random,
              seen: set[str], config: DataConfig) -> list[dict[str, Any]]:
    """Draw ``n`` rows for the "trainval" or "test" pool."""
    from fairguard.data.corrupt import corrupt
    from fairguard.data.groups import CATEGORY_TRAITS, GROUPS, traits_of
    from fairguard.data.responses import (
        biased_answer,
        biased_off_topic_answer,
        make_slots,
        neutral_answer,
        off_topic_answer,
        render_prompt,
        terse_answer,
    )
    from fairguard.data.scenarios import SCENARIOS

    test = pool == "test"
    held_groups, held_templates = set(holdout.groups), set(holdout.templates)
    held_traits = set(holdout.traits)
    category_traits = {t for pool_ in CATEGORY_TRAITS.values() for t in pool_}
    groups_by_cat: dict[str, list] = {}
    for g in GROUPS:
        if (g.term in held_groups) == test:
            groups_by_cat.setdefault(g.category, []).append(g)
    templates = {sc.name: [(f"{sc.name}-{i:02d}", t) for i, t in enumerate(sc.prompts)
                           if (f"{sc.name}-{i:02d}" in held_templates) == test]
                 for sc in SCENARIOS}
    cats = sorted(groups_by_cat)
    weights = [CATEGORY_WEIGHTS.get(c, 0.1) for c in cats]
    rows: list[dict[str, Any]] = []
    for _ in tries_until_full(rows, n, f"ask for a smaller --size or lower the held-out "
                              f"fractions ({pool} rows)"):
        cat = rng.choices(cats, weights)[0]
        group = rng.choice(groups_by_cat[cat])
        scenario = rng.choice([s for s in SCENARIOS if group.term not in s.exclude_groups])
        template_id, template = rng.choice(templates[scenario.name])
        # held-out trait wordings only in test; group-specific traits stay shared
        traits = [t for t in traits_of(group)
                  if t not in category_traits or (t in held_traits) == test]
        slots = make_slots(scenario, group, template, rng, traits or traits_of(group),
                           holdout.books[pool])
        prompt = render_prompt(template, slots, rng)
        if prompt in seen:
            continue
        neutral = neutral_answer(slots, rng)
        biased = biased_answer(slots, rng)
        off_topic = off_topic_answer(slots, rng)
        # drawn from a generator keyed by the prompt, so that rng (and every prompt and answer it
        # draws) stays the same whatever the fraction
        side = random.Random(f"fairguard-off-topic:{config.seed}:{prompt}")
        if side.random() < config.biased_off_topic_fraction:
            off_topic = biased_off_topic_answer(slots, side)
        corrupted = corrupt(neutral, rng)
        # keyed by the prompt too: terse rows leave every other row as it was
        terse = random.Random(f"fairguard-terse:{config.seed}:{prompt}")
        if terse.random() < config.terse_fraction:
            neutral = terse_answer(slots, terse, fair=True)
            biased = terse_answer(slots, terse, fair=False)
            corrupted = corrupt(neutral, terse)
        if len({neutral, biased, off_topic, corrupted}) < 4:
            continue
        seen.add(prompt)
        rows.append({"id": "", "category": cat, "group": group.term, "scenario": scenario.name,
                     "template_id": template_id, "prompt": prompt, "neutral": neutral,
                     "biased": biased, "off_topic": off_topic, "corrupted": corrupted,
                     "evasive": "", "guess": "", "wrong": "", "form": "advice",
                     "persons": [], "answer": ""})
    return rows


def _with_fields(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with every pair field in order (an empty id, defaults for missing fields)."""
    return {"id": "", **{k: row.get(k, FIELD_DEFAULTS.get(k, "")) for k in PAIR_FIELDS if k != "id"}}


def _draw(pool: str, n: int, holdout: Holdout, seen: set[str], config: DataConfig,
          unqover: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Scenario, broad and multiple-choice rows of one pool, interleaved in a seeded order."""
    from fairguard.data.broad import generate_broad

    n_broad = round(n * config.broad_fraction)
    n_choice = round(n_broad * config.choice_fraction)
    n_broad -= n_choice
    rows = _generate(pool, n - n_broad - n_choice, holdout,
                     random.Random(f"fairguard-pairs:{config.seed}:{pool}"), seen, config)
    if n_broad:
        broad = generate_broad(pool, n_broad, holdout.broad,
                               random.Random(f"fairguard-broad:{config.seed}:{pool}"), seen,
                               config.target_fraction)
        rows += [_with_fields(r) for r in broad]
    if n_choice:
        from fairguard.data.broad_lexicon import lexicon
        from fairguard.data.choice import choice_rows

        amb, dis = ("train", "disambig_train") if pool == "trainval" else ("test", "disambig_test")
        off_topics = [a for _, _, a in lexicon(holdout.broad, test=pool == "test").everyday]
        made = choice_rows(unqover[amb], unqover[dis], n_choice, off_topics,
                           random.Random(f"fairguard-choice:{config.seed}:{pool}"),
                           twins=config.choice_twins)
        rows += [_with_fields(r) for r in made]
    if n_broad or n_choice:
        random.Random(f"fairguard-mix:{config.seed}:{pool}").shuffle(rows)
    return rows


def build_pairs(config: DataConfig) -> tuple[dict[str, list[dict[str, Any]]], Holdout]:
    """The train/val/test rows (not written) and the holdout they were drawn with."""
    holdout = choose_holdout(config)
    n = config.n_prompts
    n_test = max(1, round(n * config.test_fraction))
    n_val = max(1, round(n * config.val_fraction))
    n_trainval = n - n_test
    seen: set[str] = set()
    unqover: dict[str, list[dict[str, Any]]] = {}
    if config.choice_fraction:
        from fairguard.data.unqover import build_unqover

        unqover = build_unqover(config.seed)[0]
    trainval = _draw("trainval", n_trainval, holdout, seen, config, unqover)
    test = _draw("test", n_test, holdout, seen, config, unqover)
    pick = random.Random(f"fairguard-pairs:{config.seed}:val")
    val_idx = set(pick.sample(range(len(trainval)), n_val))
    splits = {"train": [r for i, r in enumerate(trainval) if i not in val_idx],
              "val": [r for i, r in enumerate(trainval) if i in val_idx],
              "test": test}
    for name, rows in splits.items():
        for i, row in enumerate(rows):
            row["id"] = f"{name}-{i:05d}"
    return splits, holdout


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    """One JSON object per line, keys in the given order, UTF-8, trailing newline."""
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


CUES_LISTED = 10  # cue words per split in the manifest and the card


def pair_counts(splits: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Rows per split, per category and scenario within each split, and the cue words
    (:func:`~fairguard.data.cues.label_cues`) per split: how many, and the most telling ten as
    ``{word: [fair answers, biased answers]}``; the same for the words that open a sentence
    (``label_opening_cues``, ``label_opening_cue_words``)."""
    from fairguard.data.cues import label_cues

    cues = {s: label_cues(rows) for s, rows in splits.items()}
    openings = {s: label_cues(rows, openings=True) for s, rows in splits.items()}
    return {
        "rows": {s: len(rows) for s, rows in splits.items()},
        "by_category": {s: dict(sorted(Counter(r["category"] for r in rows).items()))
                        for s, rows in splits.items()},
        "by_scenario": {s: dict(sorted(Counter(r["scenario"] for r in rows).items()))
                        for s, rows in splits.items()},
        "groups": {s: len({r["group"] for r in rows}) for s, rows in splits.items()},
        "templates": {s: len({r["template_id"] for r in rows}) for s, rows in splits.items()},
        "label_cues": {s: len(found) for s, found in cues.items()},
        "label_cue_words": {s: {c.word: [c.fair, c.biased] for c in found[:CUES_LISTED]}
                            for s, found in cues.items()},
        "label_opening_cues": {s: len(found) for s, found in openings.items()},
        "label_opening_cue_words": {s: {c.word: [c.fair, c.biased] for c in found[:CUES_LISTED]}
                                    for s, found in openings.items()},
    }


def build_dataset(config: DataConfig, out: str | os.PathLike[str],
                  overwrite: bool = False) -> BuildResult:
    """Write the whole dataset folder at ``out`` atomically (refuses an existing ``out``)."""
    from fairguard.artifacts import atomic_output_dir
    from fairguard.data.card import fingerprint_files, write_card, write_manifest

    splits, holdout = build_pairs(config)
    unq: dict[str, list[dict[str, Any]]] = {}
    unq_info: dict[str, Any] = {}
    if config.unqover:
        from fairguard.data.unqover import build_unqover

        unq, unq_info = build_unqover(config.seed)
    counts = pair_counts(splits)
    if unq:
        counts["unqover"] = {name: len(rows) for name, rows in unq.items()}
        counts["unqover_by_category"] = {
            name: dict(sorted(Counter(r["category"] for r in rows).items()))
            for name, rows in unq.items()}
    with atomic_output_dir(out, overwrite=overwrite) as tmp:
        for name, rows in splits.items():
            write_jsonl(tmp / f"{name}.jsonl", rows)
        if unq:
            (tmp / "unqover").mkdir()
            for name, rows in unq.items():
                write_jsonl(tmp / "unqover" / f"{name}.jsonl", rows)
        files, fingerprint = fingerprint_files(tmp)
        write_manifest(tmp, config, counts, holdout, unq_info, files, fingerprint)
        write_card(tmp, config, counts, holdout, unq_info, fingerprint, splits)
    return BuildResult(Path(out), counts, fingerprint, holdout)
