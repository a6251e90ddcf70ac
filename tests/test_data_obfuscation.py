import random

from fairguard.data.obfuscation import obfuscate


def test_obfuscate_changes_a_word_and_keeps_short_texts():
    rng = random.Random(0)
    text = "People who litter should be fined."
    outs = {obfuscate(text, rng) for _ in range(30)}
    assert text not in outs or len(outs) > 1
    assert obfuscate("Hi you.", rng) == "Hi you."


def test_obfuscate_prefers_key_words():
    rng = random.Random(1)
    text = "Honestly, refugees are parasites."
    hits = sum("parasites" not in obfuscate(text, rng, frozenset({"parasites"}))
               for _ in range(100))
    assert hits > 60
