import pytest

from fairguard.config import build_config
from fairguard.errors import ConfigError
from fairguard.reward_model.config import (
    BACKBONE_RECIPES,
    RewardTrainConfig,
    parse_heads,
    resolve_mixed_precision,
)


def test_defaults_and_heads():
    config = RewardTrainConfig(data="d", out="o")
    assert config.head_names == ("fairness", "relevance", "fluency")
    assert config.backbone == "minilm-l6"
    assert config.to_dict()["heads"] == ["fairness", "relevance", "fluency"]


def test_the_backbone_recipe_fills_what_is_not_given():
    minilm = RewardTrainConfig(data="d", out="o")
    assert (minilm.epochs, minilm.learning_rate, minilm.mixed_precision) == (4, 2e-4, "auto")
    mpnet = RewardTrainConfig(data="d", out="o", backbone="mpnet-base")
    assert (mpnet.epochs, mpnet.learning_rate) == (2, 1e-4)
    given = RewardTrainConfig(data="d", out="o", backbone="mpnet-base", epochs=3, learning_rate=5e-5)
    assert (given.epochs, given.learning_rate) == (3, 5e-5)
    folder = RewardTrainConfig(data="d", out="o", backbone="/models/my-encoder")
    assert (folder.epochs, folder.learning_rate) == (4, 2e-4)
    flags = build_config(RewardTrainConfig, None, data="d", out="o", backbone="mpnet-base",
                         epochs=None, learning_rate=None)  # options left out on the command line
    assert (flags.epochs, flags.learning_rate) == (2, 1e-4)
    assert flags.to_dict()["learning_rate"] == 1e-4  # fairguard.json records what the run used
    assert set(BACKBONE_RECIPES) == {"minilm-l6", "mpnet-base"}


def test_the_recipe_weighs_the_fairness_loss_where_it_was_measured():
    def weights(**kw):
        config = RewardTrainConfig(data="d", out="o", **kw)
        return config.loss_weights, config.to_dict()["head_loss_weights"]

    assert weights() == ((3.0, 1.0, 1.0), "fairness=3")  # recorded in fairguard.json
    assert weights(backbone="/models/my-encoder") == ((3.0, 1.0, 1.0), "fairness=3")
    assert weights(backbone="mpnet-base") == ((1.0, 1.0, 1.0), None)
    assert weights(heads="relevance,fairness") == ((1.0, 3.0), "fairness=3")
    assert weights(heads="fluency") == ((1.0,), None)  # the recipe's weights of trained heads only
    assert weights(head_loss_weights="fairness=1") == ((1.0, 1.0, 1.0), "fairness=1")
    assert weights(head_loss_weights="relevance=0.5") == ((1.0, 0.5, 1.0), "relevance=0.5")
    with pytest.raises(ConfigError, match="not a trained head"):
        RewardTrainConfig(data="d", out="o", heads="fluency", head_loss_weights="fairness=3")


@pytest.mark.parametrize("precision, backbone, native, expected", [
    ("auto", "minilm-l6", True, "no"),  # the default judge's measured recipe is float32
    ("auto", "mpnet-base", True, "bf16"),
    ("auto", "mpnet-base", False, "no"),  # emulated bfloat16 would be slower than float32
    ("auto", "/models/my-encoder", True, "no"),
    ("bf16", "minilm-l6", False, "bf16"),  # given: kept (training refuses emulated bfloat16)
    ("no", "mpnet-base", True, "no"),
])
def test_mixed_precision_auto_follows_recipe_and_device(precision, backbone, native, expected):
    assert resolve_mixed_precision(precision, backbone, native) == expected


def test_parse_heads_order_and_errors():
    assert parse_heads("fluency, fairness") == ("fluency", "fairness")
    assert parse_heads(["relevance"]) == ("relevance",)
    with pytest.raises(ConfigError, match="unknown head.*toxicity"):
        parse_heads("fairness,toxicity")
    with pytest.raises(ConfigError, match="twice"):
        parse_heads("fairness,fairness")
    with pytest.raises(ConfigError, match="no heads"):
        parse_heads(" , ")


@pytest.mark.parametrize("option, value", [
    ("epochs", 0), ("batch_size", 0), ("learning_rate", 0.0), ("learning_rate", 2.0), ("max_length", 4),
    ("limit", 0), ("seed", -1), ("pairwise_weight", -1.0), ("device", "tpu"),
    ("truncate_prob", 1.5), ("truncate_prob", -0.1), ("truncate_prob", float("nan")),
    ("end_mark_prob", 1.5), ("end_mark_prob", -0.1), ("end_mark_prob", float("nan")),
    ("end_mark_prob", "half"), ("elsewhere_prob", 1.5), ("elsewhere_prob", float("nan")),
    ("sentence_prob", -0.1), ("sentence_prob", "half"), ("composite_prob", 1.2),
    ("short_prob", 1.5), ("short_prob", float("nan")), ("calibrate_cut", "no"),
    ("hollow_descriptions", 1),
])
def test_range_checks(option, value):
    with pytest.raises(ConfigError):
        RewardTrainConfig(data="d", out="o", **{option: value})


def test_defaults_are_the_measured_recipe_and_zero_means_all_rows():
    config = RewardTrainConfig(data="d", out="o")
    assert (config.epochs, config.learning_rate, config.max_length) == (4, 2e-4, 128)
    assert (config.rows_per_epoch, config.val_rows, config.freeze_layers) == (1000, 150, None)
    config = RewardTrainConfig(data="d", out="o", rows_per_epoch=0, val_rows=0, freeze_layers=0)
    assert (config.rows_per_epoch, config.val_rows, config.freeze_layers) == (None, None, 0)
    with pytest.raises(ConfigError):
        RewardTrainConfig(data="d", out="o", rows_per_epoch=-1)


def test_yaml_and_flags(tmp_path):
    yaml_path = tmp_path / "c.yaml"
    yaml_path.write_text("epochs: 5\npairwise-weight: 0.5\nheads: fairness\n")
    config = build_config(RewardTrainConfig, yaml_path, data="d", out="o", epochs=2)
    assert config.epochs == 2 and config.pairwise_weight == 0.5
    assert config.head_names == ("fairness",)
    yaml_path.write_text("epochs: many\n")
    with pytest.raises(ConfigError):
        build_config(RewardTrainConfig, yaml_path, data="d", out="o")


def test_end_mark_prob_may_be_null():
    assert RewardTrainConfig(data="d", out="o").end_mark_prob == 0.5
    assert RewardTrainConfig(data="d", out="o", end_mark_prob=None).end_mark_prob is None


def test_extra_data_files_are_checked_at_config_time(tmp_path):
    mine = tmp_path / "mine.csv"
    mine.write_text("sentence,label\nBakers cheat everyone.,biased\n")
    config = RewardTrainConfig(data="d", out="o", extra_data=str(mine), extra_text_column="sentence")
    assert config.extra_data == (str(mine),)
    assert config.extra_columns().text == "sentence" and config.extra_columns().label == "label"
    assert config.to_dict()["extra_data"] == (str(mine),)
    yaml = tmp_path / "c.yaml"
    yaml.write_text(f"extra_data: [{mine}]\nextra_default_prompt: Any thoughts?\n")
    from_yaml = build_config(RewardTrainConfig, yaml, data="d", out="o")
    assert from_yaml.extra_data == (str(mine),)
    assert from_yaml.extra_columns().default_prompt == "Any thoughts?"
    with pytest.raises(ConfigError, match="--extra-data .*none.csv is not a file"):
        RewardTrainConfig(data="d", out="o", extra_data=[str(mine), str(tmp_path / "none.csv")])
    with pytest.raises(ConfigError, match="add fairness to --heads"):
        RewardTrainConfig(data="d", out="o", heads="relevance", extra_data=[str(mine)])
    with pytest.raises(ConfigError, match="label column name is empty"):
        RewardTrainConfig(data="d", out="o", extra_data=[str(mine)], extra_label_column=" ")


def test_false_flag_rate_is_checked():
    assert RewardTrainConfig(data="d", out="o").false_flag_rate == 0.02
    for bad in (0, 0.5, -0.1, float("nan"), "x"):
        with pytest.raises(ConfigError):
            RewardTrainConfig(data="d", out="o", false_flag_rate=bad)
