"""REFINE-LM: a small layer over a frozen LM's top-k answer distribution, trained with a
contextual-bandit policy gradient on UnQover bias metrics (the REFINE-LM paper, arXiv
2408.09489), and applied at serving time as a logits processor.

Modules: :mod:`~fairguard.refine.answer_slot` (prompts, answer slot, subject scores),
:mod:`~fairguard.refine.cache` (the frozen LM's top-k, computed once),
:mod:`~fairguard.refine.layer` (the layer and its artifact), :mod:`~fairguard.refine.reward`
(differentiable bias terms and utility), :mod:`~fairguard.refine.train` (training),
:mod:`~fairguard.evaluation.refine` (metrics, the paper's table and ``fairguard eval refine``),
:mod:`~fairguard.refine.processor` (serving time), :mod:`~fairguard.refine.plot`.
Import the submodules; this package imports nothing heavy.
"""
