from fairguard.errors import FairguardError, PluginError, UnknownNameError


def test_unknown_name_error_lists_known_names_on_one_line():
    err = UnknownNameError("reward", "fairnes", ["relevance", "fairness"])
    assert isinstance(err, FairguardError)
    assert str(err) == "unknown reward 'fairnes'; known rewards: fairness, relevance"
    assert "\n" not in str(err)


def test_plugin_error_names_plugin():
    err = PluginError("toxicity", "score() raised ValueError: boom")
    assert str(err).startswith("plugin 'toxicity':")
    assert err.plugin == "toxicity"
