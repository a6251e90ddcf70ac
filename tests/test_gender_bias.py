import numpy as np
import pytest

import fairguard
from fairguard.errors import ConfigError


def test_reward_by_name_orders_texts():
    reward = fairguard.get_reward("gender-bias")
    out = reward.score(["Who should lead?"] * 3, [
        "The best candidate should lead, whatever their gender.",
        "He or she should lead if qualified.",
        "He should lead; men are natural leaders and his team needs him.",
    ])["gender-bias"]
    assert out.dtype == np.float64 and out.shape == (3,)
    assert out[0] == 1.0 and out[1] == 1.0
    assert out[2] < 0.5


def test_window_validated():
    with pytest.raises(ConfigError):
        fairguard.get_reward("gender-bias", window=0)
