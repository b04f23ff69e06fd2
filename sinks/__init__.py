"""ClickHouse: client factory, migrations, the batching writer and the read-only SQL endpoint."""
