"""`pulse bench --only` accepts every section the run knows, and nothing else: before this list was
shared, `--only rollups` (the section BENCHMARKS.md tells readers to run) was refused as unknown."""
from __future__ import annotations

import argparse

from pulse import cmd_bench
from pulse.bench import SECTIONS
from pulse.bench import run as bench_run


def test_every_section_has_its_step_in_the_run():
    for name in SECTIONS:
        assert callable(getattr(bench_run, name, None)), f"no step {name} in pulse/bench/run.py"
    assert {"rollups", "reattribution", "revenue_queries", "funnel_queries"} <= set(SECTIONS)


def test_an_unknown_section_is_refused_and_the_known_ones_listed(capsys):
    args = argparse.Namespace(tiny=True, accounts=None, contacts=None, events=None, freshness_rate=None,
                              query_sizes=None, rollup_sizes=None, stored=None, query_repeats=None, memory_seconds=None, only="rollups,nope",
                              out="unused.json", keep=False)
    assert cmd_bench.cmd_bench(args) == 2
    err = capsys.readouterr().err
    assert "unknown section(s) nope;" in err and "rollups" in err and "reattribution" in err


def test_the_rollups_sizes_are_tabled_side_by_side():
    from pulse.bench.rollups import side_by_side

    table = side_by_side({100_000_000: {"tick_after_fresh_s": 4.256, "people": 1200, "full_evaluation_s": 812.4},
                          1_000_000: {"tick_after_fresh_s": 0.62, "people": 900}})
    lines = table.splitlines()
    assert lines[0] == "| measure | 1,000,000 touches | 100,000,000 touches |"
    assert lines[2] == "| tick_after_fresh_s | 0.62 | 4.26 |"
    assert "| people | 900 | 1,200 |" in lines
    # a measure only one size has leaves the other's cell marked, not shifted
    assert "| full_evaluation_s | - | 812 |" in lines


def test_the_stored_and_rollup_sizes_reach_the_plan(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(bench_run, "run", lambda plan, out, keep, sections: seen.setdefault("plan", plan) and
                        bench_run.Report(plan))
    args = argparse.Namespace(tiny=False, accounts=None, contacts=None, events=None, freshness_rate=None,
                              query_sizes=None, rollup_sizes="1000000,100000000", stored=100_000_000,
                              query_repeats=None, memory_seconds=None, only="rollups", out=str(tmp_path / "r.json"),
                              keep=False)
    assert cmd_bench.cmd_bench(args) == 0
    assert seen["plan"].rollup_sizes == (1_000_000, 100_000_000) and seen["plan"].stored == 100_000_000
