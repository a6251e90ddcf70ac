import json

from fairguard.guard.result import GuardRecord, PluginFailure


def test_record_dict_is_json_and_pipeline_entry_leaves_out_text():
    record = GuardRecord(
        text="they said", scores={"gender-bias": 0.5, "total": None}, decision="flag",
        action="rewritten", candidates=3, candidate_totals=[0.5, None],
        errors=[PluginFailure("x", "score", "nan", "head 'x' returned nan")],
        original="he said", latency={"scoring_ms": 1.23456})
    full = record.to_dict()
    assert full["text"] == "they said" and full["original"] == "he said"
    assert full["errors"][0] == {"plugin": "x", "stage": "score", "kind": "nan",
                                 "message": "head 'x' returned nan"}
    assert full["latency"] == {"scoring_ms": 1.235}
    json.dumps(full)
    entry = record.to_dict(include_text=False)
    assert "text" not in entry and entry["decision"] == "flag"
    assert not record.passed
