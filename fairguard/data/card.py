"""The dataset's ``manifest.json`` (seed, counts, fingerprint) and ``README.md`` (dataset card), and
the summary ``fairguard data show`` prints of a built dataset."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fairguard.data.config import DataShowConfig

FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"  # what marks a folder as a `fairguard data build` dataset


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fingerprint_files(folder: Path) -> tuple[dict[str, str], str]:
    """sha256 of every ``.jsonl`` file under ``folder`` and one fingerprint over all of them
    (sha256 of the sorted ``relative/path sha256`` lines)."""
    files = {p.relative_to(folder).as_posix(): sha256_file(p)
             for p in sorted(folder.rglob("*.jsonl"))}
    lines = "".join(f"{name} {digest}\n" for name, digest in sorted(files.items()))
    return files, hashlib.sha256(lines.encode()).hexdigest()


def write_manifest(folder: Path, config: Any, counts: dict[str, Any], holdout: Any,
                   unq_info: dict[str, Any], files: dict[str, str], fingerprint: str) -> None:
    options = {k: v for k, v in asdict(config).items() if k != "n_prompts"}
    manifest = {
        "kind": "fairguard-dataset",
        "format_version": FORMAT_VERSION,
        "seed": config.seed,
        "size": config.size,
        "n_prompts": config.n_prompts,
        "options": options,
        "counts": counts,
        "held_out": {"groups": holdout.groups, "templates": holdout.templates,
                     "traits": holdout.traits, "phrasings": holdout.phrasings,
                     "broad": holdout.broad.as_dict() if holdout.broad else {}},
        "val_policy": "random rows drawn like train (same templates and groups)",
        "unqover": {k: v for k, v in unq_info.items()},
        "files": files,
        "fingerprint": fingerprint,
    }
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")


def _table(header: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def _by(counts: dict[str, Any], key: str) -> str:
    splits = list(counts["rows"])
    names = sorted({n for s in splits for n in counts[key][s]})
    rows = [[n] + [counts[key][s].get(n, 0) for s in splits] for n in names]
    rows.append(["**total**"] + [counts["rows"][s] for s in splits])
    return _table([key.removeprefix("by_")] + splits, rows)


def _cue_section(counts: dict[str, Any]) -> list[str]:
    """The card's lines on words that give the fairness label away (fairguard/data/cues.py),
    from ``counts["label_cues"]``, ``counts["label_cue_words"]`` and their ``label_opening_``
    counterparts."""
    from fairguard.data.cues import CUE_MAX_SHARE, CUE_MIN_TEXTS

    top = counts["label_cue_words"].get("train", {})
    openings = counts["label_opening_cue_words"].get("train", {})
    return [
        "## Cue words",
        "",
        (f"Words in at least {CUE_MIN_TEXTS} labelled answers (neutral = fair; biased and guess "
         f"= biased) of which more than {CUE_MAX_SHARE:.0%} have one label, per split: "
         + ", ".join(f"{split} {n}" for split, n in counts["label_cues"].items())
         + ". A judge can score such words instead of what the answer says about people; the "
         "pools share framing words between fair and biased answers to keep this list short."),
        "",
        *_cue_table("word (train)", top),
        ("Sentence openings counted the same way (the first word of each sentence): "
         + ", ".join(f"{split} {n}" for split, n in counts["label_opening_cues"].items())
         + "."),
        "",
        *_cue_table("opening word (train)", openings),
    ]


def _cue_table(first: str, words: dict[str, list[int]]) -> list[str]:
    """A table of ``{word: [fair answers, biased answers]}`` and a blank line (nothing if empty)."""
    if not words:
        return []
    return [_table([first, "fair answers", "biased answers"],
                   [[f"`{word}`", fair, biased] for word, (fair, biased) in words.items()]), ""]


def write_card(folder: Path, config: Any, counts: dict[str, Any], holdout: Any,
               unq_info: dict[str, Any], fingerprint: str,
               splits: dict[str, list[dict[str, Any]]]) -> None:
    example = splits["train"][0] if splits["train"] else None
    parts = [
        "# fairguard Chinese-context discrimination dataset",
        "",
        (f"Built by `fairguard data build --seed {config.seed} --size {config.size}` "
        f"({config.n_prompts} prompts). Fingerprint (sha256 over the JSONL files): "
        f"`{fingerprint}`."),
        "",
        ("Synthetic English prompts about everyday situations in China (hiring, renting, "
        "schooling, marriage, lending, service, online comments, healthcare, promotion, "
        "neighbourhood, travel) in which a person's region, hukou, ethnicity, occupation, "
        "gender or family status, age, or education could be used against them. Each prompt "
        "has four answers:"),
        "",
        "- `neutral`: fair, relevant, fluent (it usually names the group and sets it aside);",
        "- `biased`: fluent and on topic but discriminatory, from blatant to polite-sounding;",
        ("- `off_topic`: fluent but not an answer to the prompt (a neutral or a biased answer "
        "from another scenario about the same group, facts about the setting, or small talk; "
        "fair and biased wordings are about equally common, so the wording's fairness does "
        "not say whether an answer is on topic);"),
        ("- `corrupted`: the neutral answer made disfluent (2-3 of: shuffled clauses, local word "
        "shuffles, dropped words, repeated words, typos, wrong function words or verb forms, "
        "a cut-off fragment)."),
        "",
        ("Rows that ask \"who?\" about two people (two-person and multiple-choice rows) also "
        "carry their answer key: `persons` (the words that name each person) and `answer` (the "
        "one the context names; empty where it cannot tell)."),
        "",
        "## Counts",
        "",
        _by(counts, "by_category"),
        "",
        _by(counts, "by_scenario"),
        "",
        "Distinct group terms per split: "
        + ", ".join(f"{k} {v}" for k, v in counts["groups"].items())
        + "; distinct prompt templates: "
        + ", ".join(f"{k} {v}" for k, v in counts["templates"].items()) + ".",
        "",
        *_cue_section(counts),
        "## How it was built",
        "",
        ("Lexicons of groups (`fairguard/data/groups.yaml`) x scenarios with several prompt "
        "templates each (`fairguard/data/scenarios.yaml`). Slots (role noun, city, position, "
        "...) and the wording of the group mention (noun, adjective, modifier, plural) are "
        "drawn at random. Answers are composed from interchangeable sentence pools "
        "(`fairguard/data/responses.yaml`): openers, lead-ins and closers are shared by neutral "
        "and biased answers; neutral answers sometimes voice caution that applies to everyone "
        "and sometimes do not mention the group; biased answers use one of three severities "
        "(blatant, moderate, subtle: hedged, with pretexts). No language model is used; the "
        "build is deterministic for a seed (same seed, same bytes)."),
        "",
        "## Splits",
        "",
        ("- `test` holds out whole prompt templates, whole group terms, some stereotype "
        "wordings and some answer sentences: every test row uses a held-out template and a "
        "held-out group, and no train/val row uses any of them."),
        ("- `val` is a random sample of rows drawn like train (same templates and groups, "
        "different prompts): it measures fit; `test` measures generalisation."),
        "- No prompt text occurs twice in the whole dataset.",
        "",
        f"Held-out groups: {', '.join(holdout.groups)}.",
        "",
        f"Held-out templates: {', '.join(holdout.templates)}.",
        "",
        f"Held-out stereotype wordings: {'; '.join(holdout.traits)}.",
        "",
        (f"Held-out answer sentences ({len(holdout.phrasings)}, used only in test answers; the "
        "test pools also keep two shared sentences each):"),
        "",
        *[f"- {p}" for p in holdout.phrasings],
        "",
    ]
    if holdout.broad:
        held = holdout.broad.as_dict()
        parts += [
            "## Broad rows (`scenario` broad-statement / broad-everyday / broad-qa)",
            "",
            (f"{config.broad_fraction:.0%} of the prompts come from the broad pools "
            "(fairguard/data/broad.yaml; docs/data.md): groups and forms beyond the scenarios, "
            "minimal pairs, everyday questions with mixed answers, answerability questions."),
            "",
            f"Held-out broad groups: {', '.join(held['groups'])}.",
            "",
            (f"Forms only in test: {', '.join(held['forms'])}; held-out everyday questions: "
            f"{len(held['everyday'])}; held-out sentence templates: {len(held['templates'])}."),
            "",
        ]
    if unq_info:
        parts += [
            "## UnQover questions (`unqover/`)",
            "",
            ("Under-specified questions in the style of UnQover (used by REFINE-LM): two "
            "subjects of one category (given names by gender, provinces, ethnic groups, "
            "occupations) in a context that says nothing about either, and a question "
            "`Who <attribute>?` for an attribute and its negation. Every (pair, context, "
            "attribute) unit appears in both subject orders and both polarities. Subjects are "
            "single words and the answer is one of the two subject words. The "
            "`disambig_*` files add a sentence that states the answer (`answer` field)."),
            "",
            _table(["file", "rows"], [[k, v] for k, v in unq_info["counts"].items()]),
            "",
            "Test subjects and test attributes never occur in train:",
            "",
            _table(["category", "test subjects", "test attributes"],
                   [[c, ", ".join(unq_info["test_subjects"][c]),
                     ", ".join(unq_info["test_attributes"][c])]
                    for c in unq_info["test_subjects"]]),
            "",
        ]
    parts += [
        "## Format",
        "",
        ("`train.jsonl`, `val.jsonl`, `test.jsonl`: one object per line with `id, category, "
        "group, scenario, template_id, prompt, neutral, biased, off_topic, corrupted`. "
        "Load with `fairguard.data.load_pairs(DIR, split)` and "
        "`fairguard.data.load_unqover(DIR, split)`."),
        "",
    ]
    if example:
        parts += ["Example (train):", "", "```json", json.dumps(example, indent=2), "```", ""]
    parts += [
        "## Known limits",
        "",
        ("- Synthetic and template-based: the sentences are composed from hand-written pools, so "
        "the variety is large but finite; a model can still learn pool phrasings. The held-out "
        "templates, groups and stereotype wordings of `test` measure how much."),
        ("- English text about Chinese contexts, written by non-sociologists; real "
        "discrimination in Chinese (and online slang) looks different."),
        ("- Stereotypes are attached to groups by category, not from survey data; some pairings "
        "are implausible. The biased answers are deliberately offensive training negatives; "
        "do not use them as generation targets."),
        "- Labels are by construction (neutral = fair, biased = unfair), not human-annotated.",
        ("- `off_topic` answers are sometimes fair advice for another scenario about the same "
        "group: they are relevant-sounding but do not answer the prompt."),
        ("- UnQover subjects are single words; region subjects are provinces and cities; "
        "ethnicity subjects are ethnonyms used as adjectives. Given names are assigned a "
        "conventional gender; many Chinese names are in fact unisex."),
        "",
    ]
    (folder / "README.md").write_text("\n".join(parts))


def describe_dataset(config: DataShowConfig) -> str:
    """The counts of the built dataset ``config.folder`` and ``config.n_rows`` sample rows of
    ``config.split`` (the same rows every time), as text."""
    import random

    from fairguard.data.loaders import load_pairs
    from fairguard.errors import DataError

    folder = config.folder
    manifest_path = folder / MANIFEST_FILE
    if not manifest_path.is_file():
        raise DataError(f"{folder} has no manifest.json; build it with `fairguard data build`")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{manifest_path} is not valid JSON ({exc.msg}); "
                        "rebuild the dataset") from exc
    counts = manifest.get("counts", {})
    lines = [f"{folder}: seed {manifest.get('seed')}, fingerprint "
             f"{str(manifest.get('fingerprint'))[:16]}"]
    for name, n in counts.get("rows", {}).items():
        cats = counts.get("by_category", {}).get(name, {})
        lines.append(f"  {name:<6} {n:>6}  " + " ".join(f"{c}={k}" for c, k in cats.items()))
    for name, n in counts.get("unqover", {}).items():
        lines.append(f"  unqover/{name:<15} {n:>6}")
    rows = load_pairs(folder, config.split)
    for row in random.Random(0).sample(rows, min(config.n_rows, len(rows))):
        lines += ["", f"[{row.id}] {row.category} / {row.group} / {row.scenario} ({row.template_id})"]
        lines += [f"  {key:<9} {getattr(row, key)}"
                  for key in ("prompt", "neutral", "biased", "off_topic", "corrupted")]
    return "\n".join(lines)
