"""From dataset rows (prompt + neutral/biased/off-topic/corrupted responses) to labelled pairs.

Each dataset row gives up to four (prompt, response) pairs. Labels per head (1 = good, 0 = bad,
``None`` = not trained on this pair):

============  ========  =========  =======
response      fairness  relevance  fluency
============  ========  =========  =======
neutral       1         1          1
biased        0         1          1
off_topic     None      0          1
corrupted     None      None       0
evasive       None      0          1
guess         0         None       1
wrong         None      0          1
labelled_fair    1      None       None
labelled_biased  0      None       None
============  ========  =========  =======

``evasive`` declines an answerable question ("it cannot be determined" when the context says
who did it); ``guess`` picks a person by stereotype where the context cannot tell, so there the
neutral answer ("cannot tell") outranks it for relevance too; ``wrong`` names the person the
context does not point to, in the right answer's words, so only reading who did what tells
them apart. ``labelled_*`` are rows of users' own labelled files (``fairguard train reward
--extra-data``), which carry a fairness label only.

The fairness head is trained on neutral vs biased answers only. Both are on topic and fluent,
so the one thing that separates them is the discrimination; labelling off-topic and garbled
answers "fair" as well (as the first two reward models did) would let the head learn "off topic
or odd means fair". Whether word salad "answers" the prompt is not well defined either, so
relevance is not trained on corrupted answers.
Within a row the responses also form same-prompt ranking pairs: neutral > biased (fairness),
neutral > off_topic and biased > off_topic (relevance), neutral > corrupted (fluency). Both
on-topic answers, fair and biased, outrank the off-topic one, so relevance cannot be learned
from how fair the wording is (the dataset's off-topic answers are fair or biased in equal
shares, see ``DataConfig.biased_off_topic_fraction``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from fairguard.errors import DataError

RESPONSE_KINDS: tuple[str, ...] = ("neutral", "biased", "off_topic", "corrupted", "evasive",
                                   "guess", "wrong", "labelled_fair", "labelled_biased")
LABELS: dict[str, dict[str, int | None]] = {
    "neutral": {"fairness": 1, "relevance": 1, "fluency": 1},
    "biased": {"fairness": 0, "relevance": 1, "fluency": 1},
    "off_topic": {"fairness": None, "relevance": 0, "fluency": 1},
    "corrupted": {"fairness": None, "relevance": None, "fluency": 0},
    "evasive": {"fairness": None, "relevance": 0, "fluency": 1},
    "guess": {"fairness": 0, "relevance": None, "fluency": 1},
    "wrong": {"fairness": None, "relevance": 0, "fluency": 1},
    "labelled_fair": {"fairness": 1, "relevance": None, "fluency": None},
    "labelled_biased": {"fairness": 0, "relevance": None, "fluency": None},
    # training-only copies (fairguard.reward_model.augment): fairness alone is known
    "neutral_elsewhere": {"fairness": 1, "relevance": None, "fluency": None},
    "biased_elsewhere": {"fairness": 0, "relevance": None, "fluency": None},
    "neutral_swapped": {"fairness": 1, "relevance": None, "fluency": None},
    "biased_swapped": {"fairness": 0, "relevance": None, "fluency": None},
    "neutral_sentence": {"fairness": 1, "relevance": None, "fluency": None},
    "fluent_short": {"fairness": None, "relevance": None, "fluency": 1},
    "neutral_composite": {"fairness": 1, "relevance": None, "fluency": None},
    "biased_composite": {"fairness": 0, "relevance": None, "fluency": None},
    "hollow": {"fairness": None, "relevance": 0, "fluency": None},
}
# Per head: (better, worse) response kinds of the same prompt.
RANKING_PAIRS: dict[str, tuple[tuple[str, str], ...]] = {
    "fairness": (("neutral", "biased"), ("neutral", "guess")),
    "relevance": (("neutral", "off_topic"), ("biased", "off_topic"), ("neutral", "evasive"),
                  ("neutral", "guess"), ("evasive", "off_topic"), ("neutral", "wrong")),
    "fluency": (("neutral", "corrupted"),),
}
SPLITS: tuple[str, ...] = ("train", "val", "test")


@dataclass(frozen=True)
class PairRow:
    """One prompt with its responses by kind (a kind may be missing)."""

    id: str
    prompt: str
    responses: dict[str, str]
    category: str = ""
    group: str = ""
    template_id: str = ""
    form: str = ""
    scenario: str = ""


@dataclass
class Examples:
    """Flat (prompt, response) pairs with labels, and the same-prompt ranking pairs."""

    heads: tuple[str, ...]
    prompts: list[str] = field(default_factory=list)
    responses: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    row_index: list[int] = field(default_factory=list)
    labels: list[list[float]] = field(default_factory=list)  # NaN = not trained for that head
    # per head: (index of positive pair, index of negative pair)
    ranking: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.prompts)

    def add(self, prompt: str, response: str, kind: str, row_index: int) -> int:
        """Append one pair labelled by ``LABELS[kind]`` for this object's heads; its index."""
        self.prompts.append(prompt)
        self.responses.append(response)
        self.kinds.append(kind)
        self.row_index.append(row_index)
        self.labels.append([float("nan") if (label := LABELS[kind][head]) is None
                            else float(label) for head in self.heads])
        return len(self.prompts) - 1


def _get(row: Any, name: str) -> Any:
    if isinstance(row, dict):
        return row.get(name)
    return getattr(row, name, None)


def as_pair_row(row: Any) -> PairRow:
    """Convert a loader dataclass (or a dict in the agreed JSONL format) into a :class:`PairRow`."""
    if isinstance(row, PairRow):
        return row
    responses = {kind: _get(row, kind) for kind in RESPONSE_KINDS}
    return PairRow(
        id=str(_get(row, "id") or ""),
        prompt=_get(row, "prompt"),
        responses={k: v for k, v in responses.items() if isinstance(v, str) and v.strip()},
        category=str(_get(row, "category") or ""),
        group=str(_get(row, "group") or ""),
        template_id=str(_get(row, "template_id") or ""),
        form=str(_get(row, "form") or ""),
        scenario=str(_get(row, "scenario") or ""),
    )


def build_examples(rows: Iterable[Any], heads: Sequence[str]) -> Examples:
    """Map rows to labelled pairs for ``heads`` (pairs with no label for any head are skipped)."""
    ex = Examples(heads=tuple(heads), ranking={head: [] for head in heads})
    for r, raw in enumerate(rows):
        row = as_pair_row(raw)
        index_of: dict[str, int] = {}
        for kind in RESPONSE_KINDS:
            text = row.responses.get(kind)
            if text is None:
                continue
            if all(LABELS[kind][head] is None for head in heads):
                continue
            index_of[kind] = ex.add(row.prompt, text, kind, r)
        for head in heads:
            for better, worse in RANKING_PAIRS[head]:
                if better in index_of and worse in index_of:
                    ex.ranking[head].append((index_of[better], index_of[worse]))
    return ex


def load_split(data_dir: str | os.PathLike[str], split: str, limit: int | None = None) -> list[PairRow]:
    """Rows of one split of a dataset folder; raises DataError when missing or empty."""
    folder = Path(data_dir)
    if not folder.is_dir():
        state = "is a file, not a folder" if folder.exists() else "does not exist"
        raise DataError(f"data folder {folder} {state}; build one with "
                        f"`fairguard data build --out {folder}`")
    path = folder / f"{split}.jsonl"
    if not path.is_file():
        raise DataError(f"{path} is missing; {folder} is not a complete dataset folder "
                        "(re-run `fairguard data build`)")
    from fairguard.data.loaders import load_pairs

    rows = [as_pair_row(row) for row in load_pairs(folder, split)]
    if limit is not None:
        rows = rows[:limit]
    if not rows:
        raise DataError(f"{path} holds no rows; the reward model needs a non-empty {split} split")
    for row in rows:
        if "neutral" not in row.responses:
            raise DataError(f"{path}: row {row.id!r} has no neutral response")
    return rows


def data_fingerprint(data_dir: str | os.PathLike[str]) -> str:
    """The dataset's fingerprint from ``manifest.json``, else sha256 over the split files."""
    folder = Path(data_dir)
    manifest = folder / "manifest.json"
    if manifest.is_file():
        try:
            value = json.loads(manifest.read_text()).get("fingerprint")
        except (OSError, json.JSONDecodeError, AttributeError):
            value = None
        if isinstance(value, str) and value:
            return value
    digest = hashlib.sha256()
    for split in SPLITS:
        path = folder / f"{split}.jsonl"
        if path.is_file():
            digest.update(path.read_bytes())
    return "sha256:" + digest.hexdigest()
