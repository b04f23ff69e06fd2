"""Pure logic of the stream: resolution, weighting, windows. Imports neither faust nor clickhouse_connect."""
