"""Built-in filter ``refine``: applies a trained REFINE-LM layer while the LM generates.

Options: ``path`` (the layer folder from ``fairguard train refine``), optionally ``model`` (the
base LM's name; when given, the layer's recorded fingerprint is checked against it) and
``slots`` (``"first"``, the default: only the answer slot, the first generated position, where
the layer was trained; or ``"every"``: every step). :meth:`RefineFilter.logits_processor`
checks that the tokenizer is the base model's and returns a ``transformers.LogitsProcessor``;
the guard's rewrite strategy regenerates with it. It does not rewrite text.

torch is imported only when a filter is built, so listing plugins stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from fairguard.errors import ConfigError
from fairguard.hookspecs import hookimpl
from fairguard.protocols import BaseFilter


class RefineFilter(BaseFilter):
    """Logits-processor filter backed by a REFINE-LM layer folder."""

    name = "refine"

    def __init__(self, path: str | Path, model: str | None = None, slots: str = "first"):
        from fairguard.refine.layer import load_layer
        from fairguard.refine.processor import SLOTS

        if not isinstance(path, (str, Path)) or not str(path).strip():
            raise ConfigError("filter 'refine' needs path=<layer folder from `fairguard train refine`>")
        if slots not in SLOTS:
            raise ConfigError(f"filter 'refine': slots must be one of {', '.join(SLOTS)}, got {slots!r}")
        fingerprint = None
        if model is not None:
            from fairguard.evaluation.refine import load_base_lm

            fingerprint = load_base_lm(model).fingerprint
        self.layer, self.metadata = load_layer(path, fingerprint=fingerprint)
        self.path = Path(path)
        self.slots = slots

    def logits_processor(self, tokenizer: Any) -> Any:
        """A fresh processor for one generation call; raises ArtifactError for another tokenizer."""
        from fairguard.refine.layer import check_tokenizer
        from fairguard.refine.processor import RefineLogitsProcessor

        if tokenizer is not None:
            check_tokenizer(self.metadata, tokenizer, self.path)
        return RefineLogitsProcessor(self.layer, self.slots)


@hookimpl
def register_filters(register: Callable[..., None]) -> None:
    register("refine", RefineFilter,
             "REFINE-LM layer re-weighting the top-k at the answer slot (path=<layer folder>)")
