"""The production path for real: workers sharing one ClickHouse through its HTTP interface.

`pulse store serve` owns a chDB directory and serves it at CLICKHOUSE_URL (sinks/sql_writes.py), so
`pulse migrate`, workers and readers reach it exactly as they would reach a ClickHouse server, with
its users: the writer may write, the reader may only read.
"""
from __future__ import annotations

import urllib.error
import urllib.request
from decimal import Decimal

import clickhouse_connect

from conftest import sql_rows


def _post(url: str, query: str, user: str, password: str) -> tuple[int, str]:
    request = urllib.request.Request(url, data=query.encode(), method="POST",
                                     headers={"X-ClickHouse-User": user, "X-ClickHouse-Key": password})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_the_writer_writes_in_every_format_the_client_sends_and_the_reader_only_reads(shared_store):
    store, writer_pw, reader_pw = shared_store.settings, shared_store.writer_password, shared_store.reader_password
    db = store.database
    writer = clickhouse_connect.get_client(dsn=store.clickhouse_url, database=db)
    writer.command("CREATE TABLE probe (id UInt32, amount Decimal(18, 2), note String) ENGINE = MergeTree ORDER BY id")
    writer.insert("probe", [[1, Decimal("10.25"), "native"], [2, Decimal("0.10"), "é ünïcode"]],
                  column_names=["id", "amount", "note"])                              # Native, lz4-compressed
    writer.raw_insert("probe", ["id", "amount", "note"], b'[3,"7.05","json"]\n[4,"1.00","two"]',
                      fmt="JSONCompactEachRow")
    assert writer.query("SELECT id, amount, note FROM probe ORDER BY id").result_rows == [
        (1, Decimal("10.25"), "native"), (2, Decimal("0.10"), "é ünïcode"), (3, Decimal("7.05"), "json"),
        (4, Decimal("1.00"), "two")]
    # the reader sees the same data, through the read-only endpoint's guard
    assert sql_rows(store, "SELECT sum(amount) FROM probe") == [(Decimal("18.40"),)]
    url = store.clickhouse_url.split("@")[1]
    for statement in ("INSERT INTO probe VALUES (5, 1, 'x')", "DROP TABLE probe", "TRUNCATE TABLE probe",
                      "ALTER TABLE probe DELETE WHERE 1", "CREATE TABLE t2 (a UInt8) ENGINE = Memory"):
        status, text = _post(f"http://{url}/?database={db}", statement, "pulse_reader", reader_pw)
        assert status == 403, (statement, status, text)
    # a wrong writer password is not the writer: it is refused as a reader would be
    status, text = _post(f"http://{url}/?database={db}", "DROP TABLE probe", "pulse", writer_pw + "x")
    assert status == 401 and "Authentication failed" in text
    assert writer.query("SELECT count() FROM probe").result_rows == [(4,)]


def test_migrations_and_every_view_run_with_the_compose_servers_compatibility(shared_store):
    """docker-compose.yml pins a ClickHouse server; the engine here is newer. `compatibility` makes the
    engine take that release's setting defaults (it cannot remove newer functions: README lists the
    features that set the minimum), and every migration and view must work under them."""
    import re
    from pathlib import Path

    from sinks.migrate import migrate

    compose = (Path(__file__).resolve().parents[3] / "docker-compose.yml").read_text()
    version = re.search(r"image: clickhouse/clickhouse-server:(\d+\.\d+)", compose).group(1)
    store = shared_store.settings
    old = store.replace(database=f"{store.database}_compat")
    client = clickhouse_connect.get_client(dsn=store.clickhouse_url, settings={"compatibility": version})
    assert client.query("SELECT getSetting('compatibility')").result_rows == [(version,)]
    assert "0001_tables.sql" in migrate(client, old)
    views = client.query("SELECT name, create_table_query FROM system.tables WHERE database = %(d)s "
                         "AND engine = 'View'", parameters={"d": old.database}).result_rows
    assert len(views) >= 30, views
    samples = {"UInt": "1", "Int": "1", "Date": "today()", "DateTime": "now()", "DateTime64": "now64(3)", "String": "''"}
    for view, create in views:  # raises with the engine's reason; a parameterized view gets a value per parameter
        parameters = dict(re.findall(r"\{(\w+):\s*(\w+?)(?:\d+|\(.*?\))?\}", create))
        arguments = ", ".join(f"{name} = {samples[kind]}" for name, kind in parameters.items())
        client.query(f"SELECT * FROM {old.database}.{view}{f'({arguments})' if parameters else ''} LIMIT 1")
