"""`pulse bench`: reproducible measurements of the pipeline against its own limits."""
