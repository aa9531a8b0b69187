"""The benchmark harness: its arithmetic, its wrk plumbing, and a tiny run end to end."""

import shutil

import pytest

from benchmarks import report, runner, targets
from benchmarks.options import Options
from benchmarks.results import Results, SizeInfo
from benchmarks.stats import Sample, Samples
from benchmarks.wrk import MARKER, Measurement, lua_script, lua_string, parse


def measured(rps, p50=1.0, p99=2.0, status_errors=0):
    return Measurement(
        requests=int(rps * 2), seconds=2.0, p50_ms=p50, p99_ms=p99, mean_ms=p50, status_errors=status_errors
    )


def test_lua_strings_escape_quotes_backslashes_and_control_bytes():
    assert lua_string('a"b\\c\n') == '"a\\"b\\\\c\\010"'
    assert lua_string("é") == '"\\195\\169"'


def test_a_script_cycles_through_every_request():
    from benchmarks.wrk import Request

    script = lua_script([Request("GET", "/invoices/acme/inv-1"), Request("POST", "/invoices/acme", '{"a":1}')])
    assert '{"GET", "/invoices/acme/inv-1", nil}' in script
    assert '{"POST", "/invoices/acme", "{\\"a\\":1}"}' in script
    assert "i = i % #formatted + 1" in script
    with pytest.raises(ValueError):
        lua_script([])


def test_parse_reads_the_summary_line_of_the_script():
    output = (
        "Running 2s test @ http://127.0.0.1:1\n"
        f'{MARKER}{{"requests":2000,"duration_us":2000000,"p50_us":150,"p99_us":2500,"mean_us":180.5,"max_us":9100,'
        '"status":3,"connect":0,"read":1,"write":0,"timeout":0}\n'
    )
    m = parse(output)
    assert m.rps == 1000
    assert (m.p50_ms, m.p99_ms, m.max_ms, m.status_errors, m.socket_errors) == (0.15, 2.5, 9.1, 3, 1)
    assert not m.ok
    with pytest.raises(ValueError, match="WRK_RESULT"):
        parse("Requests/sec: 10\n")


def test_a_ratio_is_the_median_of_ratios_paired_within_each_repeat():
    samples = Samples()
    for repeat, (mock, ceiling) in enumerate([(100, 200), (200, 400), (300, 300)], 1):
        samples.add(Sample("mock", 1000, "get", 1, repeat, measured(mock)))
        samples.add(Sample("ceiling", None, "get", 1, repeat, measured(ceiling)))
    # The ratio of the medians would be 200/300; pairing per repeat gives 0.5, 0.5 and 1.0.
    assert samples.ratio(("mock", 1000, "get"), ("ceiling", None, "get"), 1) == 0.5
    summary = samples.summary("mock", 1000, "get", 1)
    assert (summary.rps, summary.repeats, summary.failed) == (200, 3, 0)
    assert samples.ratio(("mock", 10, "get"), ("ceiling", None, "get"), 1) is None


def test_tables_line_up_and_right_align_numbers():
    text = report.table(["op", "req/s"], [["get", "1,234"], ["create", "56"]])
    lines = text.splitlines()
    assert lines[0] == "| op     | req/s |"
    assert lines[1] == "|--------|------:|"
    assert lines[3] == "| create |    56 |"


def results_with(get_share, sizes=(1000, 100000)):
    results = Results(Options(sizes=sizes, concurrency=(1,), ops=("get",)), {}, 0.0)
    for size in sizes:
        results.samples.add(Sample("mock", size, "get", 1, 1, measured(1000 * get_share)))
    results.samples.add(Sample("ceiling", None, "get", 1, 1, measured(1000)))
    return results


def verdicts(results):
    return {t.name: t for t in targets.evaluate(results)}


def test_a_missed_target_says_by_how_much():
    found = verdicts(results_with(0.3))["get at 100k: share of the ceiling"]
    assert found.met is False
    assert found.figure == "0.30x at c=1"
    assert verdicts(results_with(0.5))["get at 100k: share of the ceiling"].met is True


def test_lookup_cost_may_grow_with_the_page_but_not_with_the_tenant():
    results = Results(Options(sizes=(1000, 100000), concurrency=(1,), ops=("by-batch",)), {}, 0.0)
    for size, items, rps in ((1000, 40, 1000), (100000, 100, 500)):
        results.sizes[size] = SizeInfo(size, size, 1.0, 10.0, 10.0, items={"by-batch": items})
        results.samples.add(Sample("mock", size, "by-batch", 1, 1, measured(rps)))
    target = verdicts(results)["by-batch: cost follows the page, not the tenant"]
    assert target.met is True  # twice the time for 2.5 times the records
    results.sizes[100000].items["by-batch"] = 40
    assert verdicts(results)["by-batch: cost follows the page, not the tenant"].met is False


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_a_tiny_run_measures_every_case_without_a_failed_request(tmp_path):
    options = Options(
        sizes=(300,),
        concurrency=(1,),
        ops=("get", "by-batch", "search-date", "create", "patch"),
        duration=1.0,
        warmup=0.0,
        repeats=1,
        walk_repeats=1,
        prism=False,
        conformance=False,
        data=tmp_path,
        out=None,
    )
    lines = []
    results = runner.run(options, say=lines.append)
    assert {(s.target, s.op) for s in results.samples.items} == {
        ("ceiling", "get"),
        ("ceiling", "create"),
        ("proxy", "get"),
        ("proxy", "create"),
        ("mock", "get"),
        ("mock", "by-batch"),
        ("mock", "search-date"),
        ("mock", "create"),
        ("mock", "patch"),
    }
    assert all(s.measurement.ok for s in results.samples.items), "\n".join(lines)
    assert results.walks[300][0].records == results.sizes[300].records
    assert results.durability.kept
    assert results.sizes[300].stop_s > 0
    rows = [line.split("|") for line in report.render(results).splitlines()]
    assert any([c.strip() for c in row[1:4]] == ["mock", "300", "get"] for row in rows)
    assert not list(tmp_path.glob("run-*")), "the run's working copies are removed"


def test_a_write_as_slow_as_a_whole_file_rewrite_is_reported():
    results = Results(Options(sizes=(1000,), concurrency=(1,), ops=("create",)), {}, 0.0)
    results.sizes[1000] = SizeInfo(1000, 1000, 1.0, 10.0, 10.0, stop_s=0.5)
    results.samples.add(Sample("mock", 1000, "create", 1, 1, measured(100), compactions=1))
    assert verdicts(results)["no request pays for a whole-file rewrite"].met is True
    slow = Measurement(requests=10, seconds=1.0, p50_ms=1.0, p99_ms=400, mean_ms=5.0, max_ms=600.0)
    results.samples.add(Sample("mock", 1000, "create", 1, 2, slow))
    target = verdicts(results)["no request pays for a whole-file rewrite"]
    assert target.met is False
    assert "600 ms" in target.figure and "0.5 s" in target.figure


def test_page_lookups_can_be_measured_at_one_connection_only():
    options = Options(concurrency=(1, 32), single_connection_ops=("by-period",))
    assert options.levels("by-period") == (1,)
    assert options.levels("get") == (1, 32)
    assert Options(concurrency=(32,), single_connection_ops=("by-period",)).levels("by-period") == (32,)
