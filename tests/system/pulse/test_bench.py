"""The benchmark cannot rot: its tiny version runs every section end to end in CI.

No timing is asserted here (speed is judged in BENCHMARKS.md from full runs); what is asserted is
that every section produced its figures and that the pipeline's totals were exact.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT

BENCH_TIMEOUT_S = 1500


@pytest.mark.timeout(BENCH_TIMEOUT_S + 60)  # the run's own limit below applies first, with its output
def test_tiny_bench_runs_every_section(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, "-m", "pulse.cli", "bench", "--tiny", "--out", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=BENCH_TIMEOUT_S)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data = json.loads(out.read_text())
    for section in ("ceiling", "naive", "pipeline", "freshness", "stage_latency", "memory", "hooks_collect",
                    "hooks_pixel", "hooks_open", "queries_20000", "scale_out", "shared_scale_out", "memory_served",
                    "revenue_queries", "funnel_queries"):
        assert section in data, f"{section} missing from {sorted(data)}"
    totals = {k: data["pipeline"][k] for k in ("stored", "stored_minutes", "aggregate_minutes", "expected_minutes")}
    assert data["pipeline"]["exact"] is True, totals
    assert data["pipeline"]["stored"] == data["pipeline"]["unique_events"] < data["pipeline"]["events_sent"]
    # where the worker's CPU went, by thread: the engine's pools and the worker's own threads
    by_thread = data["pipeline"]["cpu_us_per_event_by_thread"]
    assert by_thread and all(v > 0 for v in by_thread.values()), by_thread
    # the parts never exceed the whole, give or take the kernel's accounting: it counts CPU in clock ticks
    # and splits user from system time per thread and per process separately (a tick each way per thread)
    tick_us = 1e6 / os.sysconf("SC_CLK_TCK") / data["pipeline"]["unique_events"]
    slack = (len(by_thread) + 1) * (tick_us + 0.05)
    assert sum(by_thread.values()) <= data["pipeline"]["cpu_us_per_event"] * 1.05 + slack, (by_thread, slack)
    memory = data["memory"]
    # a leak shows as a rising floor: the lowest RSS of the run's last third against its first
    assert len(memory["rss_series_mb"]) == 11 and isinstance(memory["floor_growth_mb"], float), memory
    assert 0 < memory["rss_file_median_mb"] < memory["rss_max_mb"], memory  # the engine's code, mapped
    served = data["memory_served"]  # the same store served: the worker without the engine in it, the store beside
    assert 0 < served["worker_rss_max_mb"] and 0 < served["store_rss_max_mb"], served
    assert any(key.startswith("worker RSS < 1 GB and flat with its store served") for key in data["targets"])
    assert data["scale_out"]["exact"] is True and data["scale_out"]["lost"] == 0
    shared = data["shared_scale_out"]  # 1, 2 and 3 workers on one shared store, each run exact
    assert [shared[f"workers_{n}_exact"] for n in (1, 2, 3)] == [True] * 3, shared
    fresh = data["freshness"]  # a marker reaches the dashboard's numbers (the stage tick's) after the store
    assert fresh["markers"] > 0 and fresh["p99_s"] >= fresh["p50_s"] and fresh["shown_p99_s"] >= fresh["shown_p50_s"]
    assert fresh["shown_p50_s"] >= fresh["p50_s"], fresh
    stage = data["stage_latency"]  # each of 40 untouched accounts' first touch reached the stage-changes topic
    assert stage["markers"] == 40 and 0 < stage["p50_s"] <= stage["p99_s"], stage
    # and where their time went: the worker's evaluations during the run, which decided the markers' accounts
    assert stage["evaluations"] >= 1 and stage["evaluation_max_accounts"] >= 1, stage
    assert 0 < stage["evaluation_p50_s"] <= stage["evaluation_max_s"], stage
    assert all(k in data["queries_20000"] for k in ("worst_p95_ms", "worst_query", "worst_page_p95_ms"))
    assert data["hooks_collect"]["accepted_events"] > 0
    revenue = data["revenue_queries"]  # the revenue views, timed on a generated store of their own
    assert revenue["snapshots"] == 5_000 and revenue["opportunities"] == 1_250 and revenue["worst_p95_ms"] > 0
    # each report computed on the generated store before its reads were timed: how stale a report can be
    from pulse.bench import funnel as funnel_bench, revenue as revenue_bench

    for section, reports in ((revenue, revenue_bench.REPORTS), (data["funnel_queries"], funnel_bench.REPORTS)):
        assert all(section[f"refresh {name} s"] > 0 for name in reports), section
        assert section["report_refresh_worst"] in reports
    assert data["queries_20000"]["report_refresh_worst_s"] > 0
    funnel = data["funnel_queries"]  # the Funnel and Sales activity pages and their views, on a store of their own
    assert funnel["people"] == 2_000 and funnel["failed"] == [] and funnel["worst_p95_ms"] > 0, funnel
    assert all(f"{name}_p95_ms" in funnel for name in ("FUNNEL_COUNTS", "FUNNEL_STEPS", "SLA", "COVERAGE")), funnel
    for size in (20_000, 50_000):  # an accounts import moving 1 % of the domains, re-attributed exactly
        moved = data[f"reattribution_{size}"]
        assert moved["exact"] is True and moved["touches_changed"] == moved["touches_concerned"] > 0, moved
    # the pipeline again on a store already holding generated touches, and the same on an empty one
    assert data["pipeline"]["stored_before"] == 20_000 and data["pipeline_empty"]["stored_before"] == 0
    assert data["pipeline_empty"]["exact"] is True and data["pipeline"]["ratio_to_empty"] > 0
    assert data["pipeline"]["startup_s"] > 0 and data["pipeline"]["preload_s"] > 0
    # the rollups section at both sizes, side by side in the Markdown table written beside the results
    table = out.with_suffix(".rollups.md").read_text()
    assert "| measure | 20,000 touches | 50,000 touches |" in table and "| tick_after_fresh_s |" in table
    # the people the ticks moved: new ones by their differences (none recomputed whole), so counted apart
    rollups = data["rollups_50000"]
    assert rollups["tick_after_fresh_people_moved"] > 0 and rollups["tick_after_live_people_moved"] > 0, rollups
    assert "targets:" in result.stdout
