"""`pulse bench`: reproducible measurements of the pipeline against its own limits."""

# Every section, in the order a full run takes them: the one list `pulse bench --only` checks against.
SECTIONS = ("naive", "pipeline", "freshness", "stage_latency", "memory", "hooks", "queries", "revenue_queries",
            "rollups", "funnel_queries", "reattribution", "scale_out", "shared_scale_out")
