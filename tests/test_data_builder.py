import json
import os
import re
import subprocess
import sys

import pytest

from fairguard.data.builder import PAIR_FIELDS, build_dataset, build_pairs
from fairguard.data.config import DataConfig
from fairguard.data.groups import group_by_term
from fairguard.errors import ArtifactError, ConfigError

TEXT_FIELDS = ("prompt", "neutral", "biased", "off_topic", "corrupted")


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    config = DataConfig(seed=3, size="small")
    build_dataset(config, root / "a")
    build_dataset(DataConfig(seed=3, size="small"), root / "b")
    build_dataset(DataConfig(seed=4, size="small"), root / "c")
    return root


def _rows(folder, split):
    return [json.loads(line) for line in (folder / f"{split}.jsonl").read_text().splitlines()]


def _core(rows):
    """The Chinese-scenario rows (the broad rows are checked in test_data_broad.py)."""
    return [r for r in rows if r["form"] == "advice"]


def test_same_seed_same_bytes_different_seed_different(built):
    a, b, c = _files(built / "a"), _files(built / "b"), _files(built / "c")
    assert a == b
    assert set(a) == set(c)
    for name in ("train.jsonl", "val.jsonl", "test.jsonl", "unqover/train.jsonl"):
        assert a[name] != c[name], name


def test_same_bytes_under_another_hash_seed(built):
    # set iteration order differs between PYTHONHASHSEEDs; the files must not
    code = ("import sys; from fairguard.data.builder import build_dataset; "
            "from fairguard.data.config import DataConfig; "
            "print(build_dataset(DataConfig(seed=3, size='small'), sys.argv[1]).fingerprint)")
    for hash_seed in ("12345",):
        out = built / f"h{hash_seed}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        res = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True,
                             text=True, env=env)
        assert res.returncode == 0, res.stderr
        assert _files(out) == _files(built / "a")


def test_folder_layout(built):
    assert set(_files(built / "a")) == {
        "train.jsonl", "val.jsonl", "test.jsonl", "manifest.json", "README.md",
        "unqover/train.jsonl", "unqover/test.jsonl", "unqover/disambig_train.jsonl",
        "unqover/disambig_test.jsonl"}


def test_rows_have_exact_fields_and_types(built):
    for split in ("train", "val", "test"):
        rows = _rows(built / "a", split)
        assert rows
        for row in rows:
            assert tuple(row) == PAIR_FIELDS
            persons = row.pop("persons")
            assert all(isinstance(v, str) for v in row.values())
            optional = ("evasive", "guess", "wrong", "answer")
            assert all(v.strip() for k, v in row.items() if k not in optional)
            keyed = row["form"].startswith(("choice-", "qa-"))
            assert isinstance(persons, list) and len(persons) == (2 if keyed else 0)
            assert row["answer"] == "" if not row["form"].endswith("-answerable") else row["answer"] in persons
            assert row["id"].startswith(split + "-")


def test_four_answers_distinct_and_prompts_unique(built):
    prompts, triples, n = [], set(), 0
    for split in ("train", "val", "test"):
        for row in _rows(built / "a", split):
            n += 1
            assert len({row[k] for k in ("neutral", "biased", "off_topic", "corrupted")}) == 4
            triples.add((row["prompt"], row["neutral"], row["biased"]))
            if row["form"] == "advice":
                prompts.append(row["prompt"])
    assert n == len(triples) == 600
    assert len(prompts) == len(set(prompts)) == 180  # broad_fraction 0.7


def test_test_split_holds_out_templates_and_groups(built):
    folder = built / "a"
    manifest = json.loads((folder / "manifest.json").read_text())
    held_groups = set(manifest["held_out"]["groups"])
    held_templates = set(manifest["held_out"]["templates"])
    held_traits = manifest["held_out"]["traits"]
    test = _core(_rows(folder, "test"))
    assert {r["group"] for r in test} <= held_groups
    assert {r["template_id"] for r in test} <= held_templates
    assert len({r["group"] for r in test}) >= 6
    patterns = [group_by_term(g).regex() for g in held_groups]
    for split in ("train", "val"):
        for row in _core(_rows(folder, split)):
            assert row["group"] not in held_groups
            assert row["template_id"] not in held_templates
            for key in TEXT_FIELDS:
                for pat in patterns:
                    assert not pat.search(row[key]), (split, row["id"], key, pat.pattern)
                for trait in held_traits:
                    assert trait not in row[key], (split, row["id"], trait)


def _phrase_regex(template):
    parts = re.split(r"\{[A-Za-z_]+\}", template)
    return re.compile("[^.;!?]+?".join(re.escape(p) for p in parts), re.IGNORECASE)


def test_held_out_answer_sentences_only_in_test(built):
    folder = built / "a"
    phrasings = json.loads((folder / "manifest.json").read_text())["held_out"]["phrasings"]
    assert len(phrasings) >= 8
    # sentences with little fixed text ("{Plural} {trait}.") cannot be told apart: skip them
    fixed = [p for p in phrasings if len(re.sub(r"\{[A-Za-z_]+\}", " ", p).split()) >= 6]
    assert len(fixed) >= 6
    patterns = [_phrase_regex(p) for p in fixed]
    for split in ("train", "val"):
        for row in _rows(folder, split):
            for key in ("neutral", "biased", "off_topic"):
                for pat in patterns:
                    assert not pat.search(row[key]), (split, row["id"], key, pat.pattern)
    test_text = " ".join(r["neutral"] + " " + r["biased"] for r in _rows(folder, "test"))
    assert sum(bool(p.search(test_text)) for p in patterns) >= len(patterns) // 2


def test_rows_mention_their_group(built):
    rows = _core(_rows(built / "a", "train"))
    for row in rows:
        assert group_by_term(row["group"]).regex().search(row["prompt"]), row
    # both kinds of answer usually name the group, so the group word alone separates nothing
    for key, low in (("neutral", 0.6), ("biased", 0.8)):
        hits = sum(bool(group_by_term(r["group"]).regex().search(r[key])) for r in rows)
        share = hits / len(rows)
        assert share > low, (key, share)


def test_all_categories_and_scenarios_in_every_split(built):
    manifest = json.loads((built / "a" / "manifest.json").read_text())
    counts = manifest["counts"]
    assert counts["rows"] == {"train": 450, "val": 60, "test": 90}
    for split in ("train", "test"):
        # the six scenario categories, the broad ones and "none" (everyday questions)
        assert len(counts["by_category"][split]) >= 12
    # the three broad row kinds, the multiple-choice rows and the 11 scenarios in train; a small
    # build's test split draws only about 27 scenario rows, so a scenario or three may be missing there by chance
    assert len(counts["by_scenario"]["train"]) == 15
    assert len(counts["by_scenario"]["test"]) >= 11
    assert set(counts["label_cues"]) == {"train", "val", "test"}
    listed = counts["label_cue_words"]["train"]
    assert len(listed) == min(10, counts["label_cues"]["train"])
    assert set(counts["label_opening_cues"]) == {"train", "val", "test"}
    openings = counts["label_opening_cue_words"]["train"]
    assert len(openings) == min(10, counts["label_opening_cues"]["train"])
    assert all(len(pair) == 2 and sum(pair) >= 40 for pair in listed.values())


def test_manifest_counts_unqover_questions_per_category(built):
    counts = json.loads((built / "a" / "manifest.json").read_text())["counts"]
    by_cat = counts["unqover_by_category"]
    assert set(by_cat) == set(counts["unqover"])
    for name, per in by_cat.items():
        rows = (built / "a" / "unqover" / f"{name}.jsonl").read_text().splitlines()
        assert sum(per.values()) == counts["unqover"][name] == len(rows)
        assert per == {c: sum(json.loads(r)["category"] == c for r in rows) for c in per}
        assert {"gender", "region"} <= set(per)


def test_no_single_phrase_separates_neutral_from_biased():
    splits, _ = build_pairs(DataConfig(seed=0, size=1200, broad_fraction=0.0))
    rows = splits["train"]
    neutral = [r["neutral"] for r in rows]
    biased = [r["biased"] for r in rows]
    # shared openers: the first sentence is often the same kind of text in both
    firsts_n = {t.split(". ")[0] for t in neutral}
    firsts_b = {t.split(". ")[0] for t in biased}
    assert len(firsts_n & firsts_b) >= 5
    # "regardless" is not a neutral-answer signature
    assert sum("regardless" in t.lower() for t in neutral) < 0.2 * len(neutral)
    # lengths overlap
    ln = sorted(len(t.split()) for t in neutral)
    lb = sorted(len(t.split()) for t in biased)
    assert ln[len(ln) // 4] < lb[3 * len(lb) // 4] and lb[len(lb) // 4] < ln[3 * len(ln) // 4]
    # answers rarely repeat verbatim
    assert len(set(neutral)) > 0.97 * len(neutral) and len(set(biased)) > 0.97 * len(biased)


def test_refuses_existing_out_unless_overwrite(built):
    with pytest.raises(ArtifactError):
        build_dataset(DataConfig(seed=3, size=60), built / "a")
    before = _files(built / "a")
    assert before["train.jsonl"]


def test_overwrite_replaces(tmp_path):
    out = tmp_path / "d"
    build_dataset(DataConfig(seed=1, size=60, unqover=False), out)
    first = (out / "train.jsonl").read_bytes()
    build_dataset(DataConfig(seed=2, size=60, unqover=False), out, overwrite=True)
    assert (out / "train.jsonl").read_bytes() != first
    assert not (out / "unqover").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("kwargs", [{"size": "huge"}, {"size": 10}, {"size": 10**7},
                                    {"seed": -1}, {"test_fraction": 0.0},
                                    {"heldout_group_fraction": 0.9},
                                    {"test_fraction": 0.5, "val_fraction": 0.5},
                                    {"biased_off_topic_fraction": -0.1},
                                    {"biased_off_topic_fraction": 1.5},
                                    {"terse_fraction": -0.1}, {"terse_fraction": 1.5},
                                    {"broad_fraction": 0.95}, {"broad_fraction": -0.1}])
def test_config_errors(kwargs):
    with pytest.raises(ConfigError):
        DataConfig(**kwargs)


def test_biased_off_topic_answers_replace_only_off_topic_answers():
    plain, _ = build_pairs(DataConfig(seed=5, size=300, biased_off_topic_fraction=0.0,
                                      broad_fraction=0.0))
    mixed, _ = build_pairs(DataConfig(seed=5, size=300, broad_fraction=0.0))
    changed = 0
    for split in plain:
        for old, new in zip(plain[split], mixed[split], strict=True):
            assert {k: v for k, v in old.items() if k != "off_topic"} == \
                {k: v for k, v in new.items() if k != "off_topic"}
            if old["off_topic"] != new["off_topic"]:
                changed += 1
                assert new["off_topic"] not in (new["neutral"], new["biased"])
    assert 0.2 < changed / 300 < 0.4  # the default fraction is 0.3
    every, _ = build_pairs(DataConfig(seed=5, size=300, biased_off_topic_fraction=1.0,
                                      broad_fraction=0.0))
    assert all(o["off_topic"] != e["off_topic"] for s in plain for o, e in zip(plain[s], every[s]))


def test_terse_rows_replace_only_the_answers_of_their_prompts():
    plain, _ = build_pairs(DataConfig(seed=5, size=300, terse_fraction=0.0, broad_fraction=0.0))
    terse, _ = build_pairs(DataConfig(seed=5, size=300, broad_fraction=0.0, terse_fraction=0.25))
    answers = ("neutral", "biased", "corrupted")
    changed: list[dict] = []
    for split in plain:
        for old, new in zip(plain[split], terse[split], strict=True):
            assert {k: v for k, v in old.items() if k not in answers} == \
                {k: v for k, v in new.items() if k not in answers}
            if old["neutral"] != new["neutral"]:
                changed.append(new)
                assert new["biased"] != old["biased"] and new["corrupted"] != old["corrupted"]
    assert 0.15 < len(changed) / 300 < 0.35
    # terse fair and biased answers are alike in length, and shorter than the others
    words = {k: sum(len(r[k].split()) for r in changed) / len(changed) for k in answers[:2]}
    assert 0.75 < words["neutral"] / words["biased"] < 1.33 and max(words.values()) < 20


def test_size_names_and_numbers():
    assert DataConfig(size="small").n_prompts == 600
    assert DataConfig(size="default").n_prompts == 6000
    assert DataConfig(size="large").n_prompts == 24000
    assert DataConfig(size="1234").n_prompts == 1234
    assert DataConfig(size=777).n_prompts == 777
