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
                              query_sizes=None, query_repeats=None, memory_seconds=None, only="rollups,nope",
                              out="unused.json", keep=False)
    assert cmd_bench.cmd_bench(args) == 2
    err = capsys.readouterr().err
    assert "unknown section(s) nope;" in err and "rollups" in err and "reattribution" in err
