"""Writing an evaluation's ``metrics.json`` and ``metrics.md`` (per-example JSONL:
``fairguard.artifacts.write_jsonl``)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from fairguard.artifacts import write_json


def fmt(value: Any, digits: int = 3) -> str:
    """A table cell: numbers rounded, None/NaN as an en dash."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def change_cell(change: float, se: float) -> str:
    """A paired change and its standard error as one table cell: ``+0.152 ± 0.012``."""
    return f"{change:+.3f} ± {se:.3f}"


def text_cell(text: Any, limit: int | None = None) -> str:
    """``text`` on one line, ``|`` escaped, cut to ``limit`` characters, for a markdown table."""
    text = " ".join(str(text).split())
    if limit is not None and len(text) > limit:
        text = text[:limit - 1].rstrip() + "…"
    return text.replace("|", "\\|")


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(fmt(cell) for cell in row) + " |")
    return "\n".join(lines) + "\n"


def write_report(folder: str | Path, metrics: Mapping[str, Any], markdown: str,
                 report_file: str = "metrics.md") -> None:
    """Write ``metrics.json`` and the ``markdown`` report (``report_file``) into ``folder``."""
    folder = Path(folder)
    write_json(folder / "metrics.json", dict(metrics))
    (folder / report_file).write_text(markdown, encoding="utf-8")
