"""Built-in filter ``neutralize``: rewrites gendered wording into gender-neutral wording.

A rule-based fallback for the guard's rewrite strategy: pronouns become singular "they" (with
the common verb agreements fixed), gendered role nouns become neutral ones ("chairman" ->
"chairperson", "policewoman" -> "police officer"). It changes wording, not meaning, and does not
touch other kinds of bias; model-based filters do better where one is available.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

from fairguard.hookspecs import hookimpl
from fairguard.inputs import check_pairs
from fairguard.protocols import BaseFilter

REPLACEMENTS: dict[str, str] = {
    "he": "they", "she": "they", "him": "them", "himself": "themselves", "herself": "themselves",
    "his": "their", "hers": "theirs",
    "man": "person", "woman": "person", "men": "people", "women": "people",
    "boy": "child", "girl": "child", "boys": "children", "girls": "children",
    "gentleman": "person", "lady": "person", "gentlemen": "people", "ladies": "people",
    "husband": "spouse", "wife": "spouse", "husbands": "spouses", "wives": "spouses",
    "father": "parent", "mother": "parent", "fathers": "parents", "mothers": "parents",
    "son": "child", "daughter": "child", "sons": "children", "daughters": "children",
    "brother": "sibling", "sister": "sibling", "brothers": "siblings", "sisters": "siblings",
    "chairman": "chairperson", "chairwoman": "chairperson",
    "spokesman": "spokesperson", "spokeswoman": "spokesperson",
    "businessman": "businessperson", "businesswoman": "businessperson",
    "businessmen": "businesspeople", "businesswomen": "businesspeople",
    "policeman": "police officer", "policewoman": "police officer",
    "waiter": "server", "waitress": "server", "actress": "actor",
    "stewardess": "flight attendant", "steward": "flight attendant",
    "manpower": "workforce", "mankind": "humankind",
}

# "her" is "their" before a noun and "them" otherwise; this picks "them" before words that
# usually follow an object pronoun.
_OBJECT_FOLLOWERS = frozenset(
    "and or but to for with at in on of from that because so if when as . , ; : ! ?".split()
)

AGREEMENT = [
    (re.compile(r"\b([Tt]hey) is\b"), r"\1 are"),
    (re.compile(r"\b([Tt]hey) was\b"), r"\1 were"),
    (re.compile(r"\b([Tt]hey) has\b"), r"\1 have"),
    (re.compile(r"\b([Tt]hey) does\b"), r"\1 do"),
    (re.compile(r"\b([Tt]hey) doesn't\b"), r"\1 don't"),
    (re.compile(r"\b([Tt]hey) isn't\b"), r"\1 aren't"),
    (re.compile(r"\b([Tt]hey) wasn't\b"), r"\1 weren't"),
    (re.compile(r"\b([Tt]hey)'s\b"), r"\1're"),
]

_WORD = re.compile(r"[A-Za-z]+|[^A-Za-z]+")


def _match_case(source: str, target: str) -> str:
    if source.isupper() and len(source) > 1:
        return target.upper()
    if source[:1].isupper():
        return target[:1].upper() + target[1:]
    return target


def neutralize(text: str) -> str:
    """Return ``text`` with gendered wording replaced by neutral wording."""
    pieces = _WORD.findall(text)
    out: list[str] = []
    for i, piece in enumerate(pieces):
        lower = piece.lower()
        if lower == "her":
            following = ""
            for nxt in pieces[i + 1:]:
                stripped = nxt.strip()
                if stripped:
                    following = stripped.split()[0].lower() if stripped[0].isalpha() else stripped[0]
                    break
            replacement = "them" if (not following or following in _OBJECT_FOLLOWERS) else "their"
            out.append(_match_case(piece, replacement))
        elif lower in REPLACEMENTS:
            out.append(_match_case(piece, REPLACEMENTS[lower]))
        else:
            out.append(piece)
    result = "".join(out)
    for pattern, repl in AGREEMENT:
        result = pattern.sub(repl, result)
    return result


class NeutralizeFilter(BaseFilter):
    """Text-rewrite filter applying :func:`neutralize` to each completion."""

    name = "neutralize"

    def rewrite(self, prompts: Sequence[str], completions: Sequence[str]) -> list[str]:
        _, completions = check_pairs(prompts, completions)
        return [neutralize(text) for text in completions]


@hookimpl
def register_filters(register: Callable[..., None]) -> None:
    register("neutralize", NeutralizeFilter, "rule-based rewrite of gendered wording into neutral wording")
