"""The issues' targets, met or not, judged from one bench run's own numbers (pulse/bench/run.py)."""
from __future__ import annotations


def targets(r: dict) -> dict:
    """The issue's targets, met or not, from this run's own numbers."""
    out = {}
    if "pipeline" in r:
        p, n = r["pipeline"], across(r, "pipeline")
        out[f"pipeline >= 100,000 events/s{n}"] = p["events_per_s"] >= 100_000
        out[f"pipeline >= 0.2 x ceiling{n}"] = p["ratio_to_ceiling"] >= 0.2
        if p.get("ratio_to_naive"):
            out[f"pipeline >= 10 x naive{n}"] = p["ratio_to_naive"] >= 10
        out["pipeline exact"] = p["exact"]
        out["worker RSS < 1 GB with the registry"] = p["worker_rss_mb_registry_loaded"] < 1024
        if p.get("ratio_to_empty"):
            held = f"{p['stored_before']:,} stored touches"
            out[f"pipeline on {held} within 10 % of the empty store's{n}"] = p["ratio_to_empty"] >= 0.9
            out[f"worker start-up < 30 s on {held}"] = p["startup_s"] < 30
    if "freshness" in r:
        out[f"freshness p99 <= 2 s{across(r, 'freshness')}"] = r["freshness"]["p99_s"] <= 2.0
    if "stage_latency" in r:
        stage = r["stage_latency"]  # a marker that never arrived misses it, whatever the quantile
        out[f"stage change published <= 10 s after its touch, p99{across(r, 'stage_latency')}"] = (
            stage["p99_s"] <= 10.0 and not stage.get("markers_missing"))
    if "scale_out" in r:
        out["scale-out: no event lost, re-deliveries consistent"] = r["scale_out"]["exact"]
    if "shared_scale_out" in r:
        shared = r["shared_scale_out"]
        out["shared store: 1, 2 and 3 workers exact"] = all(v for k, v in shared.items() if k.endswith("_exact"))
    if "hooks_collect" in r:
        out["/collect >= 50,000 events/s"] = r["hooks_collect"].get("accepted_events_per_s", 0) >= 50_000
    if "hooks_pixel" in r:
        out["pixels >= 5,000 requests/s"] = r["hooks_pixel"].get("requests_per_s", 0) >= 5_000
    for key, value in r.items():
        if key.startswith("queries_") and key.endswith("10000000"):
            out["each dashboard query p95 < 100 ms at 10M"] = value["worst_p95_ms"] < 100
    if r.get("revenue_queries", {}).get("snapshots", 0) >= 1_000_000:
        revenue = r["revenue_queries"]
        out["revenue views p95 < 100 ms at 1M snapshots"] = not revenue["failed"] and revenue["worst_p95_ms"] < 100
    if r.get("funnel_queries", {}).get("people", 0) >= 1_000_000:
        funnel = r["funnel_queries"]
        out["funnel and sales queries p95 < 100 ms at 1M people"] = not funnel["failed"] and funnel["worst_p95_ms"] < 100
    sizes = sorted(int(k.split("_")[1]) for k in r if k.startswith("rollups_") and k.split("_")[1].isdigit())
    if sizes:
        largest = r[f"rollups_{sizes[-1]}"]
        out[f"stage tick after live touches <= 5 s at {sizes[-1]:,} touches"] = largest["tick_after_live_s"] <= 5
        worst = max(v for k, v in largest.items() if k.endswith("_after_p95_ms"))
        out[f"per-account dashboard queries p95 < 100 ms at {sizes[-1]:,} touches"] = worst < 100
    sizes = sorted(int(k.rsplit("_", 1)[1]) for k in r if k.startswith("reattribution_"))
    if sizes:
        largest = r[f"reattribution_{sizes[-1]}"]
        out["re-attribution exact at every size"] = all(r[f"reattribution_{n}"]["exact"] for n in sizes)
        out[f"re-attribution of 1 % of accounts < 60 s at {sizes[-1]:,} touches"] = largest["reattribution_s"] < 60
    if "memory" in r:
        memory = r["memory"]
        out[f"worker RSS flat (floor < 10% growth){across(r, 'memory')}"] = flat(memory["floor_growth_mb"],
                                                                                    memory["rss_start_mb"])
    if "memory_served" in r:
        served = r["memory_served"]
        own = served["worker_rss_max_mb"] < 1024
        out[f"worker RSS < 1 GB and flat with its store served{across(r, 'memory_served')}"] = own and flat(
            served["worker_floor_growth_mb"], served["worker_rss_start_mb"])
    return out


def flat(floor_growth_mb: float, start_mb: float) -> bool:
    """A memory run's floor rose less than 10 % of where it started (pulse/bench/freshness.floor_growth)."""
    return floor_growth_mb < 0.1 * start_mb


def across(r: dict, section: str) -> str:
    """A note for the targets judged from a section that crossed the reporting day's midnight: it measured
    beside the new day's move of every account (pulse/bench/day_boundary.py), not the steady state."""
    day = r.get(section, {}).get("crossed_midnight")
    return f" (measured across the start of {day} in the reporting zone)" if day else ""
