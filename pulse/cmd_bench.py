"""`pulse bench`: measure the pipeline against its own limits (see pulse/bench/run.py)."""
from __future__ import annotations

import sys
from pathlib import Path

from pulse.bench import SECTIONS


def cmd_bench(args) -> int:
    from pulse.bench.run import Plan, run

    plan = Plan.tiny() if args.tiny else Plan()
    for name in ("accounts", "contacts", "events", "freshness_rate"):
        if getattr(args, name):
            setattr(plan, name, getattr(args, name))
    if args.query_sizes:
        plan.query_sizes = tuple(int(x) for x in args.query_sizes.split(","))
    if args.rollup_sizes:
        plan.rollup_sizes = tuple(int(x) for x in args.rollup_sizes.split(","))
    if args.stored is not None:
        plan.stored = args.stored
    if args.query_repeats:
        plan.query_repeats = args.query_repeats
    if args.memory_seconds is not None:
        plan.memory_seconds = args.memory_seconds
    sections = tuple(args.only.split(",")) if args.only else None
    unknown = set(sections or ()) - set(SECTIONS)
    if unknown:
        print(f"pulse bench: unknown section(s) {', '.join(sorted(unknown))}; known: {', '.join(SECTIONS)}",
              file=sys.stderr)
        return 2
    report = run(plan, Path(args.out), keep=args.keep, sections=sections)
    print("\ntargets:")
    for target, met in report.results.get("targets", {}).items():
        print(f"  {'met   ' if met else 'MISSED'}  {target}")
    print(f"results written to {args.out}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("bench", help="benchmark: ceiling, naive baseline, pipeline, freshness, queries, memory")
    p.add_argument("--tiny", action="store_true", help="a few thousand events (what CI runs)")
    p.add_argument("--accounts", type=int)
    p.add_argument("--contacts", type=int)
    p.add_argument("--events", type=int)
    p.add_argument("--freshness-rate", type=int, help="events/s offered through the hooks in the freshness run")
    p.add_argument("--query-sizes", help="comma-separated stored-event counts, e.g. 10000000,100000000")
    p.add_argument("--rollup-sizes", help="comma-separated stored-touch counts for the rollups section, grown "
                   "in one store, e.g. 1000000,100000000 (issue 17's side-by-side run)")
    p.add_argument("--stored", type=int, help="touches generated into the worker's store before the pipeline "
                   "section (then also run on an empty store); freshness, stage changes and memory follow on it")
    p.add_argument("--query-repeats", type=int, help="timed runs of every dashboard query per size")
    p.add_argument("--memory-seconds", type=float, help="length of the memory run")
    p.add_argument("--only", help=f"comma-separated sections ({', '.join(SECTIONS)}); the ceiling runs "
                   "with every section that reads Kafka")
    p.add_argument("--out", default="bench-results/latest.json", help="where to write the JSON results")
    p.add_argument("--keep", action="store_true", help="keep the working directory (logs, data)")
    p.set_defaults(func=cmd_bench)
