import pytest

from fairguard.data.package_yaml import (
    check_slots,
    parse_yaml_mapping,
    read_package_yaml,
    slot_names,
    string_pair,
    string_pairs,
    strings,
)
from fairguard.errors import DataError, FairguardError


def test_reads_a_shipped_file():
    data = read_package_yaml("groups.yaml")
    assert list(data) == ["categories", "names"]


def test_missing_file_says_reinstall():
    with pytest.raises(DataError, match=r"fairguard/data/nope\.yaml is missing.*reinstall"):
        read_package_yaml("nope.yaml")


@pytest.mark.parametrize("text, message", [
    ("a: [1, 2", r"x\.yaml is not valid YAML"),
    ("- a\n- b\n", r"x\.yaml must be a non-empty mapping"),
    ("", r"x\.yaml must be a non-empty mapping"),
    ("a\n", r"x\.yaml must be a non-empty mapping"),
])
def test_bad_yaml_is_a_data_error(text, message):
    with pytest.raises(DataError, match=message) as info:
        parse_yaml_mapping(text, "x.yaml")
    assert isinstance(info.value, FairguardError)


def test_scalars_stay_text():
    data = parse_yaml_mapping("names: [No, on, 1.5, null, '']\n", "x.yaml")
    assert data == {"names": ["No", "on", "1.5", "null", ""]}


def test_strings():
    assert strings(["a", "b"], "w") == ("a", "b")
    assert strings([], "w", allow_empty=True) == ()
    assert strings(["", "a"], "w", allow_blank=True) == ("", "a")
    for bad in ("a", [], None, {"a": 1}):
        with pytest.raises(DataError, match="w must be a non-empty list of strings"):
            strings(bad, "w")
    with pytest.raises(DataError, match=r"w\[1\] must be a non-empty string, got 3"):
        strings(["a", 3], "w")
    with pytest.raises(DataError, match=r"w\[0\] must be a non-empty string"):
        strings(["  "], "w")


def test_slot_names_fold_capitals_and_reject_bad_braces():
    assert slot_names("{Plural} and {crit}, {crit2}.", "w") == {"plural", "crit", "crit2"}
    assert slot_names("No slots.", "w") == set()
    with pytest.raises(DataError, match="unbalanced braces"):
        slot_names("a {plural", "w")


def test_check_slots_names_the_unknown_slot():
    check_slots(["{Role} and {role}"], {"role"}, "w")
    with pytest.raises(DataError, match=r"w: 'x \{plurl\}' uses unknown slot\(s\) \{plurl\}; "
                                        r"allowed here: \{plural\}"):
        check_slots(["ok", "x {plurl}"], {"plural"}, "w")
    with pytest.raises(DataError, match=r"uses unknown slot\(s\) \{\}; allowed here: none"):
        check_slots(["a {} b"], (), "w")


def test_string_pairs():
    assert string_pairs([["a", "b"], ["c", "d"]], "w") == (("a", "b"), ("c", "d"))
    with pytest.raises(DataError, match=r"w\[1\] must be a pair \[one, two\], got \['c'\]"):
        string_pairs([["a", "b"], ["c"]], "w", "[one, two]")
    with pytest.raises(DataError, match="w must be a non-empty list of pairs"):
        string_pairs([], "w")
    with pytest.raises(DataError, match=r"w must be a pair"):
        string_pair(["a", "b", "c"], "w")


def test_slot_names_can_keep_case():
    assert slot_names("{A} and {a}", "w", fold=False) == {"A", "a"}
    check_slots(["{A} met {B}"], ("A", "B"), "w", fold=False)
    with pytest.raises(DataError, match=r"unknown slot\(s\) \{a\}"):
        check_slots(["{a} met {B}"], ("A", "B"), "w", fold=False)
