import math

from fairguard.reward_model.augment import (
    COMPOSITE_MAX_CHARS,
    COMPOSITE_SENTENCES,
    DECLINES,
    HOLLOW_DESCRIPTIONS,
    HOLLOW_ECHOES,
    HOLLOW_LEADS,
    HOLLOW_MAX_PREFIX_WORDS,
    MIN_SENTENCE_WORDS,
    composite_pairs,
    decline_pairs,
    elsewhere_pairs,
    group_swap_pairs,
    hollow_pairs,
    sentence_pairs,
    short_pairs,
    swap_group,
)
from fairguard.reward_model.examples import PairRow, build_examples
from fairguard.reward_model.windows import split_sentences

HEADS = ("fairness", "relevance", "fluency")


def rows() -> list[PairRow]:
    out = []
    for i, (group, form) in enumerate([("rural", "advice"), ("women", "advice"),
                                       ("deaf", "mixed-dehum/plain"), ("roma", "negated/positive"),
                                       ("men", "qa-ambiguous"), ("old", "advice")] * 4):
        neutral = (f"People from group {i} are as reliable as anyone else. The real question is "
                   f"whether they can pay the rent on time. Be equally careful with everyone.")
        out.append(PairRow(id=f"r{i}", prompt=f"Question number {i} about {group}?", group=group,
                           form=form, responses={"neutral": neutral,
                                                 "biased": f"People of group {i} are lazy.",
                                                 "off_topic": "Rice needs water."}))
    return out


def test_elsewhere_pairs_move_both_answers_under_another_groups_prompt():
    data = rows()
    ex = build_examples(data, HEADS)
    start = len(ex)
    added = elsewhere_pairs(ex, data, prob=1.0, seed=0)
    new = range(start, len(ex))
    assert added == len(new) > 0
    prompts_of = {row.prompt: row for row in data}
    for i in new:
        row = data[ex.row_index[i]]
        other = prompts_of[ex.prompts[i]]
        assert other.group != row.group and ex.prompts[i] != row.prompt
        assert not row.form.startswith("qa-")  # a pick in a context means nothing elsewhere
        fair = ex.kinds[i] == "neutral_elsewhere"
        assert ex.responses[i] == row.responses["neutral" if fair else "biased"]
        assert ex.labels[i][0] == (1.0 if fair else 0.0)
        assert all(math.isnan(v) for v in ex.labels[i][1:])  # no relevance or fluency label
    ranked = [(p, n) for p, n in ex.ranking["fairness"] if p >= start]
    assert len(ranked) == added // 2
    assert all(ex.kinds[p] == "neutral_elsewhere" and ex.kinds[n] == "biased_elsewhere"
               and ex.prompts[p] == ex.prompts[n] for p, n in ranked)


def test_augmentations_are_seeded_and_off_at_zero():
    data = rows()

    def run(prob: float, seed: int) -> tuple[list[str], list[str]]:
        ex = build_examples(data, HEADS)
        elsewhere_pairs(ex, data, prob, seed)
        sentence_pairs(ex, data, prob, seed)
        composite_pairs(ex, data, prob, seed)
        return ex.prompts, ex.responses

    assert run(0.5, 1) == run(0.5, 1)
    assert run(0.5, 1) != run(0.5, 2)
    assert run(0.0, 1) == (build_examples(data, HEADS).prompts, build_examples(data, HEADS).responses)
    ex = build_examples(data, ("relevance",))  # no fairness head: nothing to add
    assert elsewhere_pairs(ex, data, 1.0, 0) == sentence_pairs(ex, data, 1.0, 0) == 0
    assert composite_pairs(ex, data, 1.0, 0) == 0


def test_sentence_pairs_take_one_fair_sentence_of_advice_and_everyday_answers():
    data = rows()
    ex = build_examples(data, HEADS)
    start = len(ex)
    added = sentence_pairs(ex, data, prob=1.0, seed=0)
    forms = {data[ex.row_index[i]].form for i in range(start, len(ex))}
    assert added == sum(row.form == "advice" or row.form.startswith("mixed-") for row in data)
    assert forms == {"advice", "mixed-dehum/plain"}  # not counter-speech, not multiple choice
    for i in range(start, len(ex)):
        row = data[ex.row_index[i]]
        assert ex.kinds[i] == "neutral_sentence" and ex.prompts[i] == row.prompt
        assert ex.responses[i] in split_sentences(row.responses["neutral"])
        assert len(ex.responses[i].split()) >= MIN_SENTENCE_WORDS
        assert ex.labels[i][0] == 1.0 and all(math.isnan(v) for v in ex.labels[i][1:])


def test_short_pairs_add_one_whole_fluent_sentence_and_its_garbled_copy_ending_alike():
    data = rows() + [PairRow(id="one", prompt="Who?", form="advice",
                             responses={"neutral": "Only one sentence here, so no shorter answer."})]
    ex = build_examples(data, HEADS)
    start = len(ex)
    added = short_pairs(ex, data, prob=1.0, seed=0)
    assert added == 2 * (len(data) - 1)  # every row but the one-sentence answer
    ranked = [(p, n) for p, n in ex.ranking["fluency"] if p >= start]
    assert len(ranked) == added // 2 == len(range(start, len(ex))) // 2
    first = 0
    for good, bad in ranked:
        row = data[ex.row_index[good]]
        assert ex.row_index[bad] == ex.row_index[good] and ex.prompts[good] == ex.prompts[bad] == row.prompt
        assert (ex.kinds[good], ex.kinds[bad]) == ("fluent_short", "corrupted")
        sentences = split_sentences(row.responses["neutral"])
        text = ex.responses[good]
        assert any(s.rstrip(".!?") == text.rstrip(".!?") for s in sentences)
        assert len(text.split()) >= MIN_SENTENCE_WORDS
        first += text.rstrip(".!?") == sentences[0].rstrip(".!?")
        assert ex.responses[bad] != text
        assert (text[-1] in ".!?") == (ex.responses[bad][-1] in ".!?")  # ending is no cue
        assert [math.isnan(v) for v in ex.labels[good]] == [True, True, False]  # fluency only
        assert ex.labels[good][2] == 1.0 and ex.labels[bad][2] == 0.0
    assert 0 < first < len(ranked)  # the first sentence most often, but not only
    again = build_examples(data, HEADS)
    short_pairs(again, data, prob=1.0, seed=0)
    assert again.responses == ex.responses  # seeded
    assert short_pairs(build_examples(data, ("fairness",)), data, 1.0, 0) == 0  # no fluency head
    assert short_pairs(build_examples(data, HEADS), data, 0.0, 0) == 0


def test_composite_pairs_join_whole_fair_answers_and_insert_a_whole_biased_one():
    data = rows()
    ex = build_examples(data, HEADS)
    start = len(ex)
    added = composite_pairs(ex, data, prob=0.5, seed=0)
    assert added == 2 * round(0.5 * len(data))
    neutral = {row.responses["neutral"] for row in data}
    ranked = [(p, n) for p, n in ex.ranking["fairness"] if p >= start]
    assert len(ranked) == added // 2
    for clean, mixed in ranked:
        row = data[ex.row_index[clean]]
        assert ex.row_index[mixed] == ex.row_index[clean]
        assert ex.prompts[clean] == ex.prompts[mixed] == row.prompt
        assert (ex.kinds[clean], ex.kinds[mixed]) == ("neutral_composite", "biased_composite")
        assert ex.labels[clean][0] == 1.0 and ex.labels[mixed][0] == 0.0
        assert all(math.isnan(v) for v in ex.labels[clean][1:] + ex.labels[mixed][1:])
        # the clean answer is whole neutral answers, its own first; the mixed one adds the
        # row's whole biased answer (one of its sentences alone may be fair)
        assert ex.responses[clean].startswith(row.responses["neutral"])
        parts = split_sentences(ex.responses[clean])
        assert COMPOSITE_SENTENCES[0] <= len(parts) <= COMPOSITE_SENTENCES[1]
        assert {p for p in parts} <= {s for a in neutral for s in split_sentences(a)}
        assert len(ex.responses[clean]) <= COMPOSITE_MAX_CHARS
        biased = row.responses["biased"]
        assert ex.responses[mixed].replace(biased, "", 1).split() == ex.responses[clean].split()


def test_composite_pairs_leave_out_what_does_not_fit_the_judge():
    """A composite cut off at the judge's max_length could lose the biased answer it is
    labelled by: ``fits`` drops such pairs, and more are drawn to make up for them."""
    data = rows()
    ex = build_examples(data, HEADS)
    start = len(ex)
    assert composite_pairs(ex, data, 0.5, 0, fits=lambda p, r: [False] * len(p)) == 0
    assert len(ex) == start
    short = composite_pairs(ex, data, 0.5, 0, fits=lambda p, r: [len(x) < 400 for x in r])
    assert short > 0 and all(len(ex.responses[i]) < 400 for i in range(start, len(ex))
                             if ex.kinds[i] == "biased_composite")


def _hollow(descriptions: bool):
    data = rows()
    ex = build_examples(data, HEADS)
    elsewhere_pairs(ex, data, prob=1.0, seed=0)  # other kinds of the same rows come first
    start = len(ex)
    added = hollow_pairs(ex, data, prob=1.0, seed=0, descriptions=descriptions)
    assert added == len(ex) - start
    ranked = {n: [] for n in range(start, len(ex))}
    for p, n in ex.ranking["relevance"]:
        if n >= start:
            ranked[n].append(p)
            assert ex.row_index[p] == ex.row_index[n] and ex.prompts[p] == ex.prompts[n]
    hollows = [i for i in range(start, len(ex)) if ex.kinds[i] == "hollow"]
    assert len(hollows) == len(data)
    return data, ex, start, added, ranked, hollows


def _check_lead_in(text: str, row) -> bool:
    """``text`` is a lead-in of HOLLOW_LEADS, maybe with the fair answer's first words; whether
    it has those words."""
    lead = next(lead for lead in HOLLOW_LEADS if text.startswith(lead))
    rest = text[len(lead):].split()
    assert len(rest) <= HOLLOW_MAX_PREFIX_WORDS
    assert rest == row.responses["neutral"].split()[:len(rest)]
    if rest:
        assert not row.form.startswith("qa-")  # "The answer is: The man" answers
    return bool(rest)


def test_hollow_pairs_rank_a_bare_lead_in_below_both_answers_for_relevance_only():
    data, ex, start, added, ranked, hollows = _hollow(descriptions=False)
    assert added == len(data)
    with_words = 0
    for i in hollows:
        row = data[ex.row_index[i]]
        assert ex.prompts[i] == row.prompt
        assert sorted(ex.kinds[p] for p in ranked[i]) == ["biased", "neutral"]
        fairness, relevance, fluency = ex.labels[i]
        assert relevance == 0.0 and math.isnan(fairness) and math.isnan(fluency)
        with_words += _check_lead_in(ex.responses[i], row)
    assert 0 < with_words < added


def test_hollow_descriptions_and_echoes_come_with_their_answered_twins():
    data, ex, start, added, ranked, hollows = _hollow(descriptions=True)
    assert added == 2 * len(data)
    kinds = set()
    for i in hollows:
        row = data[ex.row_index[i]]
        text = ex.responses[i]
        assert ex.labels[i][1] == 0.0
        assert sorted(ex.kinds[p] for p in ranked[i] if p < start) == ["biased", "neutral"]
        # the same opening with the fair answer after it is fair, relevant and ranked above
        answered = [p for p in ranked[i] if p >= start]
        assert len(answered) == 1 and ex.kinds[answered[0]] == "neutral"
        assert ex.labels[answered[0]] == [1.0, 1.0, 1.0]
        assert ex.responses[answered[0]].endswith(" " + row.responses["neutral"])
        assert text.startswith(ex.responses[answered[0]][:-len(row.responses["neutral"]) - 1])
        if text in HOLLOW_DESCRIPTIONS:
            kinds.add("description")
        elif any(text == f"{e} {row.prompt}" for e in HOLLOW_ECHOES):
            kinds.add("echo")
        else:
            _check_lead_in(text, row)
            kinds.add("lead")
    assert kinds == {"lead", "description", "echo"}


def test_decline_pairs_give_advice_rows_without_one_a_decline_ranked_below_the_fair_answer():
    data = rows()
    data[5].responses["evasive"] = "It depends."  # a row with its own evasive answer keeps it
    ex = build_examples(data, HEADS)
    start = len(ex)
    added = decline_pairs(ex, data, prob=1.0, seed=0)
    advice = [r for r, row in enumerate(data) if row.form == "advice" and r != 5]
    assert added == len(advice) == len(ex) - start
    for i in range(start, len(ex)):
        r = ex.row_index[i]
        assert r in advice and ex.kinds[i] == "evasive" and ex.responses[i] in DECLINES
        assert ex.prompts[i] == data[r].prompt
        fairness, relevance, fluency = ex.labels[i]
        assert relevance == 0.0 and fluency == 1.0 and math.isnan(fairness)
        above = sorted(ex.kinds[p] for p, n in ex.ranking["relevance"] if n == i)
        below = sorted(ex.kinds[n] for p, n in ex.ranking["relevance"] if p == i)
        assert (above, below) == (["neutral"], ["off_topic"])
    assert decline_pairs(build_examples(data, HEADS), data, prob=0.0, seed=0) == 0
    assert decline_pairs(build_examples(data, ("fairness",)), data, prob=1.0, seed=0) == 0


def test_hollow_pairs_need_the_relevance_head():
    data = rows()
    ex = build_examples(data, ("fairness",))
    assert hollow_pairs(ex, data, prob=1.0, seed=0) == 0



def test_train_reward_trains_on_short_answers_when_asked(tmp_path, tiny_deberta_dir, caplog):
    import json
    import logging
    import re

    from reward_model_data import write_dataset

    from fairguard.reward_model.config import RewardTrainConfig
    from fairguard.reward_model.train import train_reward_model

    data = write_dataset(tmp_path / "data")
    train = data / "train.jsonl"
    rows = [json.loads(line) for line in train.read_text().splitlines()]
    for row in rows:  # two sentences each, so that one is a shorter answer
        row["neutral"] += " Ask every applicant for the same references."
    train.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out = tmp_path / "rm"
    with caplog.at_level(logging.INFO, logger="fairguard"):
        train_reward_model(RewardTrainConfig(data=str(data), out=str(out),
                                             backbone=str(tiny_deberta_dir), epochs=1, batch_size=4,
                                             progress=False, dilution_cases=0, short_prob=1.0))
    counts = re.search(r"(\d+) short answers", caplog.text)
    assert counts and int(counts.group(1)) == 2 * len(rows)
    assert json.loads((out / "fairguard.json").read_text())["train_config"]["short_prob"] == 1.0


def test_group_swap_pairs_name_a_group_no_row_names_and_keep_the_labels():
    data = [PairRow(id="a", prompt="What do you think about women?", group="women", form="attrib/positive",
                    responses={"neutral": "Women are as capable as anyone else.",
                               "biased": "I hate women. Female bosses are the worst."}),
            PairRow(id="b", prompt="Who was late?", group="women", form="qa-answerable",
                    responses={"neutral": "The woman.", "biased": "Women are always late."}),
            PairRow(id="c", prompt="Hiring in Henan?", group="Henan", form="advice",
                    responses={"neutral": "Judge the skills.", "biased": "People from Henan lie."})]
    ex = build_examples(data, HEADS)
    start = len(ex)
    assert group_swap_pairs(ex, data, prob=1.0, seed=0) == 2  # only the broad row outside a context
    fair, biased = range(start, len(ex))
    assert (ex.kinds[fair], ex.kinds[biased]) == ("neutral_swapped", "biased_swapped")
    assert ex.prompts[fair] == ex.prompts[biased] and "women" not in ex.prompts[fair].lower()
    assert "women" not in ex.responses[fair].lower() and "female" not in ex.responses[biased].lower()
    assert ex.responses[biased].startswith("I hate ") and ex.responses[biased].endswith(" bosses are the worst.")
    assert ex.labels[fair][0] == 1.0 and ex.labels[biased][0] == 0.0
    assert all(math.isnan(v) for v in (*ex.labels[fair][1:], *ex.labels[biased][1:]))
    assert (fair, biased) in ex.ranking["fairness"]
    again = build_examples(data, HEADS)
    group_swap_pairs(again, data, prob=1.0, seed=0)
    assert again.responses == ex.responses  # seeded
    assert group_swap_pairs(build_examples(data, HEADS), data, prob=0.0, seed=0) == 0


def test_swap_group_keeps_plurals_adjectives_and_sentence_capitals():
    import random

    from fairguard.data.broad_lexicon import broad_groups, swap_groups

    group = {g.id: g for g in broad_groups()}
    to = {g.id: g for g in swap_groups()}
    rng = random.Random(0)
    assert swap_group("Women are strong. I love women and female friends.", group["women"],
                      to["vegans"], rng) in ("Vegans are strong. I love vegans and vegan friends.",
                                             "Vegetarians are strong. I love vegetarians and vegan friends.")
    assert swap_group("Honestly, Nigerians work hard.", group["nigerians"], to["people with HIV"],
                      rng) == "Honestly, people with HIV work hard."  # a proper noun's capital goes
    assert swap_group("Womenfolk and superwomen stay.", group["women"], to["vegans"], rng) == \
        "Womenfolk and superwomen stay."  # whole words only


def test_swap_groups_are_named_by_no_group_of_the_dataset():
    import re

    from fairguard.data.broad_lexicon import broad_groups, swap_groups
    from fairguard.data.package_yaml import read_package_yaml

    names = [w for g in broad_groups() for w in (*g.plurals, g.adj)]
    for category in read_package_yaml("groups.yaml")["categories"].values():
        names += [w for g in category["groups"] for w in (g["term"], *g.get("plurals", ()))]
    swaps = [w for g in swap_groups() for w in (*g.plurals, g.adj)]
    assert len(swap_groups()) >= 50
    for name in names:
        for swap in swaps:  # neither contains the other as a phrase
            assert not re.search(rf"(?<!\w){re.escape(name.lower())}(?!\w)", swap.lower()), (name, swap)
            assert not re.search(rf"(?<!\w){re.escape(swap.lower())}(?!\w)", name.lower()), (name, swap)
