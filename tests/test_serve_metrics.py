"""Prometheus text format of the server's counters and histograms."""

from fairguard.guard.result import GuardRecord, PluginFailure
from fairguard.serve.metrics import Counter, Histogram, ServeMetrics


def test_counter_and_histogram_render_the_text_format():
    counter = Counter("x_total", "Things.", ("kind",))
    counter.inc(kind='a"b')
    counter.inc(2, kind="c")
    assert counter.render() == ["# HELP x_total Things.", "# TYPE x_total counter",
                                'x_total{kind="a\\"b"} 1.0', 'x_total{kind="c"} 2.0']
    hist = Histogram("t_seconds", "Time.", buckets=(0.1, 1.0))
    for value in (0.05, 0.5, 5.0):
        hist.observe(value)
    assert hist.render()[2:] == ['t_seconds_bucket{le="0.1"} 1.0', 't_seconds_bucket{le="1.0"} 2.0',
                                 't_seconds_bucket{le="+Inf"} 3.0', "t_seconds_sum 5.55", "t_seconds_count 3.0"]
    assert Counter("n_total", "Unlabelled.").render()[-1] == "n_total 0.0"


def test_records_count_decisions_failures_and_fail_open_passes():
    metrics = ServeMetrics()
    failure = PluginFailure("rm", "score", "timeout", "slow")
    latency = {"generation_ms": 100.0, "scoring_ms": 5.0, "rewrite_ms": 0.0, "guard_ms": 6.0, "total_ms": 106.0}
    records = [GuardRecord("a", {}, "pass", "none", errors=[failure], latency=latency),
               GuardRecord("b", {}, "block", "refused", latency=latency)]
    metrics.observe_records("chat", records, fail="open")
    assert metrics.decisions.value(endpoint="chat", decision="pass", action="none") == 1
    assert metrics.decisions.value(endpoint="chat", decision="block", action="refused") == 1
    assert metrics.plugin_failures.value(plugin="rm", stage="score", kind="timeout") == 1
    assert metrics.fail_open_passes.value(endpoint="chat") == 1
    assert metrics.stage_seconds.count(endpoint="chat", stage="generation") == 1
    metrics.observe_records("chat", records[:1], fail="closed")
    assert metrics.fail_open_passes.value(endpoint="chat") == 1
    metrics.observe_batch(12, 3, 0.01)
    text = metrics.render()
    assert 'fairguard_score_batch_pairs_bucket{le="16.0"} 1.0' in text
    assert 'fairguard_stage_seconds_count{endpoint="chat",stage="total"} 2.0' in text
    assert text.endswith("\n") and all(line.startswith(("#", "fairguard_")) for line in text.splitlines())
