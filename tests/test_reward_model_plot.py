from fairguard.reward_model.plot import plot_training


def _val(auc):
    return {"heads": {"fairness": {"roc_auc": auc, "pairwise_accuracy": auc},
                      "relevance": {"roc_auc": None, "pairwise_accuracy": None}}}


def test_writes_png(tmp_path):
    path = tmp_path / "t.png"
    history = [{"epoch": 1, "val": _val(0.7)}, {"epoch": 2, "val": _val(0.9)}]
    plot_training([1.0 - i / 200 for i in range(120)], history, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_empty_history(tmp_path):
    plot_training([], [], tmp_path / "e.png")
    assert (tmp_path / "e.png").stat().st_size > 0
