import random
import string

from fairguard.data.groups import GROUPS
from fairguard.data.responses import make_slots, render_prompt
from fairguard.data.scenarios import SCENARIOS, template_ids

REQUIRED = {"hiring", "renting", "schooling", "marriage", "lending", "service",
            "online_comments", "healthcare", "promotion"}


def test_required_scenarios_and_unique_template_ids():
    assert REQUIRED <= {s.name for s in SCENARIOS}
    ids = template_ids()
    assert len(ids) == len(set(ids)) >= 60


def test_every_template_mentions_the_group():
    for sc in SCENARIOS:
        assert len(sc.prompts) >= 5, sc.name
        for t in sc.prompts:
            assert any(k in t for k in ("{person}", "{Person}", "{plural}", "{Plural}")), t


def test_every_template_renders_for_every_fitting_group():
    rng = random.Random(0)
    for sc in SCENARIOS:
        for t in sc.prompts:
            for g in GROUPS:
                if g.term in sc.exclude_groups:
                    continue
                slots = make_slots(sc, g, t, rng)
                prompt = render_prompt(t, slots)
                assert "{" not in prompt and "}" not in prompt, prompt
                assert g.regex().search(prompt), (g.term, prompt)
                assert prompt[0] in string.ascii_uppercase


def test_pieces_have_enough_variety():
    for sc in SCENARIOS:
        assert len(sc.fair_decisions) >= 4 and len(sc.biased_decisions) >= 4, sc.name
        assert len(sc.criteria) >= 4 and len(sc.consequences) >= 4 and len(sc.off_topic) >= 4
        assert not set(sc.fair_decisions) & set(sc.biased_decisions)
