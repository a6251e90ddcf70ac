"""The one writer of benchmarks/RESULTS.md: each benchmark replaces only its own section."""

from __future__ import annotations

import os
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(text: str, section: str, path: Path = RESULTS) -> None:
    """Replace (or append) the section headed ``section`` (a "## ..." line) with ``text``."""
    old = path.read_text() if path.is_file() else "# Benchmark results\n"
    lines = old.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == section), None)
    if start is None:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        end = next((j for j in range(start + 1, len(lines)) if lines[j].startswith("## ")), len(lines))
        tail = "".join(lines[end:])
        new = "".join(lines[:start]) + text + ("\n" + tail if tail else "")
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(new)
    os.replace(tmp, path)


def run_header(section: str, result: dict, threads_for: str = "torch and onnxruntime") -> list[str]:
    """The section's heading and its command, date, machine and load-average lines, from a
    result holding ``command``, ``date_utc``, ``machine`` (``export.latency.machine_info``),
    ``threads`` and ``load_average_before`` / ``_after``."""
    m = result["machine"]
    features = "/".join(m.get("cpu_features") or []) or "no AVX2"
    busy = float(str(result["load_average_before"]).split()[0] or 0) > 1.0
    return [
        section, "",
        f"- command: `{result['command']}`",
        f"- date: {result['date_utc']}; machine: {m['cpu']} ({features}), {m['cpu_count']} cores, "
        f"torch {m['torch']}, onnxruntime {m['onnxruntime']}; {result['threads']} threads for "
        f"{threads_for}",
        f"- load average before / after: {result['load_average_before']} / "
        f"{result['load_average_after']}"
        + (" (other processes were busy: absolute times are slower than on a quiet machine)"
           if busy else ""),
    ]


def publish(text: str, section: str, write: bool, result: dict | None = None,
            json_out: str | None = None) -> None:
    """Print a benchmark's section; with ``json_out`` also save ``result`` there as JSON, and
    with ``write`` put the section in RESULTS.md."""
    print(text)
    if json_out and result is not None:
        from fairguard.artifacts import write_json

        write_json(json_out, result)
    if write:
        write_section(text, section)
        print(f"wrote the section {section!r} in {RESULTS}")
