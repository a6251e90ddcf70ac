"""Users' own labelled files mixed into the reward model's training rows (``--extra-data``).

Each labelled example becomes a one-response row of kind ``labelled_fair`` or
``labelled_biased``: it trains the fairness head only (``examples.LABELS``) and forms no
same-prompt ranking pair. The rows join the train split's row pool, so each epoch's
``rows_per_epoch`` sample draws them in proportion to their share of the pool; ``--limit``
does not apply to them.
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

from fairguard.data.labelled import LabelledColumns, LabelledSet, load_labelled
from fairguard.reward_model.config import RewardTrainConfig
from fairguard.reward_model.examples import PairRow

log = logging.getLogger(__name__)
DEFAULT_CATEGORY = "labelled"


def labelled_pair_rows(data: LabelledSet, index: int) -> list[PairRow]:
    """The rows of one labelled set; ``index`` keeps ids apart across files."""
    rows = []
    for ex in data.examples:
        category = ex.metadata.get("category")
        rows.append(PairRow(
            id=f"extra{index}-line{ex.line}",
            prompt=ex.prompt,
            responses={"labelled_biased" if ex.biased else "labelled_fair": ex.text},
            category=category.strip() if isinstance(category, str) and category.strip()
            else DEFAULT_CATEGORY,
        ))
    return rows


def load_extra_rows(sources: Sequence[str], columns: LabelledColumns | None = None
                    ) -> tuple[list[PairRow], list[dict[str, Any]]]:
    """All rows of ``sources`` and one record (path, sha256, rows, ...) per source.

    Every file is read before anything is returned, so a bad one fails before training.
    """
    rows: list[PairRow] = []
    records: list[dict[str, Any]] = []
    for index, source in enumerate(sources):
        data = load_labelled(source, columns)
        rows.extend(labelled_pair_rows(data, index))
        records.append(data.record())
    return rows, records


def with_extra_rows(train_rows: list[PairRow], config: RewardTrainConfig) -> tuple[list[PairRow], list[dict[str, Any]]]:
    """``train_rows`` followed by the rows of ``config.extra_data``, and their records."""
    if not config.extra_data:
        return train_rows, []
    extra, records = load_extra_rows(config.extra_data, config.extra_columns())
    log.info("mixing %d labelled rows from %d file(s) into %d train rows", len(extra),
             len(records), len(train_rows))
    return [*train_rows, *extra], records


__all__ = ["labelled_pair_rows", "load_extra_rows", "with_extra_rows"]
