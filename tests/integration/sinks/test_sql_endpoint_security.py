"""The read-only SQL endpoint as an attacker tries it (issue 13), through the real endpoint on the real engine.

Each test serves SqlEndpoint on the in-process chDB engine (the `engine` fixture) as the worker
does, and talks HTTP to it. One test starts a real worker for the token file it writes.
"""
from __future__ import annotations

import asyncio
import base64
import os
import stat
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import free_port, sql_rows, wait_until
from schemas.settings import Settings
from sinks.client import engine_reader_client, writer_client
from sinks.migrate import migrate
from sinks.sql_endpoint import SqlEndpoint
from sinks.sql_guard import Policy, refusal
from sinks.sql_token import DASHBOARD_USER, read_token, token_path


class Endpoints:
    """SqlEndpoints on the in-process engine, served from a loop of their own, stopped together."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.running: list[SqlEndpoint] = []

    def serve(self, settings):
        endpoint = SqlEndpoint(settings)
        asyncio.run_coroutine_threadsafe(endpoint.start(), self.loop).result(60)
        self.running.append(endpoint)
        return settings

    def close(self) -> None:
        for endpoint in self.running:
            asyncio.run_coroutine_threadsafe(endpoint.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def serve(engine):
    """serve(**setting changes) -> the settings of a running endpoint on the test's engine and database."""
    _, base = engine
    endpoints = Endpoints()
    yield lambda **changes: endpoints.serve(base.replace(**changes))
    endpoints.close()


@pytest.fixture(scope="module")
def served(engine_dir):
    """One endpoint with the default settings on a migrated database of its own, for the many attempts
    that change nothing (a fresh database and endpoint per attempt cost about a second each)."""
    settings = Settings(data_dir=engine_dir, database=f"t_{uuid.uuid4().hex[:10]}", sql_port=free_port())
    client = writer_client(settings)
    migrate(client, settings)
    endpoints = Endpoints()
    yield endpoints.serve(settings)
    endpoints.close()
    client.command(f"DROP DATABASE IF EXISTS {settings.database}")


def http(settings, query: str | None = None, *, body: str | None = None, params: dict | None = None,
         headers: dict | None = None, user: str | None = "default", password: str | None = None,
         path: str = "/") -> tuple[int, dict, str]:
    """(status, headers, text) of one request; basic auth with the token unless user is None."""
    params = dict(params or {})
    if query is not None:
        params["query"] = query
    url = f"http://127.0.0.1:{settings.sql_port}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    headers = dict(headers or {})
    if user is not None:
        secret = read_token(settings) if password is None else password
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
    request = urllib.request.Request(url, data=body.encode() if body is not None else None, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def refused(answer, *words):
    status, headers, text = answer
    assert status == 403, answer
    assert text.startswith("Code: 164.") and "pulse refuses" in text and "Traceback" not in text, text
    assert headers["X-ClickHouse-Exception-Code"] == "164"
    for word in words:
        assert word in text, (word, text)


# --- finding 1: writing files -------------------------------------------------------------------------

@pytest.mark.parametrize("clause", ["TRUNCATE FORMAT RawBLOB", "APPEND FORMAT RawBLOB", "", "AND STDOUT",
                                    "TRUNCATE COMPRESSION 'gzip'"])
def test_into_outfile_is_refused_and_writes_no_file(served, tmp_path, clause):
    settings = served
    target = tmp_path / "x.pth"
    for text in (f"SELECT 'import os' INTO OUTFILE '{target}' {clause}",
                 f"select /* hi */ 'import os' into   outfile '{target}' {clause} -- bye",
                 f"EXPLAIN SELECT 1 INTO OUTFILE '{target}' {clause}",
                 f"SHOW TABLES INTO OUTFILE '{target}' {clause}"):
        refused(http(settings, text), "INTO OUTFILE")
        refused(http(settings, body=text), "INTO OUTFILE")
    # the query string and the body are one statement, as ClickHouse reads them
    refused(http(settings, "SELECT 'x' INTO OUTFILE", body=f"'{target}' {clause}"), "INTO OUTFILE")
    assert not target.exists()


# --- finding 2: reading files, and every other way out of the database ---------------------------------

@pytest.mark.parametrize("text", [
    "SELECT splitByChar('\\0', file('/proc/self/environ'))",
    "SELECT file('/etc/passwd')",
    "SELECT FILE('/etc/passwd')",
    "SELECT `file`('/etc/passwd')",
    "SELECT /* a */ file /* b */ ('/etc/passwd')",
    "SELECT arrayMap(p -> file(p), ['/etc/passwd'])",
    "WITH (SELECT file('/etc/passwd')) AS f SELECT f",
    "SELECT * FROM (SELECT file('/etc/passwd') AS f)",
    "SELECT 1 WHERE '' IN file('/etc/passwd')",
    "EXPLAIN SYNTAX SELECT file('/etc/passwd')",
    "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    "DESCRIBE file('/etc/passwd', 'LineAsString')",
    "SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')",
    "SELECT * FROM s3('http://127.0.0.1:1/b/k', 'LineAsString')",
    "SELECT * FROM remote('127.0.0.1:1', system.one)",
    "SELECT * FROM executable('id', 'LineAsString', 'x String')",
    "SELECT * FROM Python(settings)",
    "SELECT * FROM numbers(1) AS n JOIN url('http://127.0.0.1:1/', 'LineAsString') AS u ON 1",
    "SELECT * FROM view(SELECT file('/etc/passwd'))",
])
def test_files_network_and_processes_are_refused(served, text):
    refused(http(served, text), "()")


# --- findings 3 and 8, and every statement that is not one read ---------------------------------------

@pytest.mark.parametrize("text, word", [
    ("KILL QUERY WHERE query LIKE 'INSERT INTO %' SYNC", "KILL"),
    ("kill /* x */ query where 1", "KILL"),
    ("USE system", "USE"),
    ("SYSTEM FLUSH LOGS", "SYSTEM"),
    # the summary reports: a reader may neither freeze them nor make the engine recompute them at will
    ("SYSTEM STOP VIEW revenue_summary_report", "SYSTEM"),
    ("SYSTEM REFRESH VIEW program_attribution_report", "SYSTEM"),
    ("SYSTEM CANCEL VIEW funnel_conversion_report", "SYSTEM"),
    ("ALTER TABLE sales_velocity_report MODIFY REFRESH EVERY 1 SECOND", "ALTER"),
    ("DROP TABLE revenue_summary_report", "DROP"),
    ("SET readonly = 0", "SET"),
    ("INSERT INTO accounts (account_id, name) VALUES ('x', 'X')", "INSERT"),
    ("CREATE TABLE evil (x UInt8) ENGINE = Memory", "CREATE"),
    ("DROP TABLE accounts", "DROP"),
    ("ALTER TABLE accounts DELETE WHERE 1", "ALTER"),
    ("EXPLAIN AST INSERT INTO accounts (account_id) VALUES ('x')", "EXPLAIN of"),
    ("SELECT 1 SETTINGS readonly = 0", "SETTINGS"),
    ("SELECT 1 FORMAT TSV SETTINGS max_result_rows = 0", "SETTINGS"),
    ("SELECT * FROM (SELECT 1 SETTINGS max_execution_time = 0)", "SETTINGS"),
    ("EXPLAIN SELECT 1 SETTINGS readonly = 0", "SETTINGS"),
])
def test_only_one_read_statement_runs(served, text, word):
    settings = served
    refused(http(settings, text), word)
    refused(http(settings, body=text + "\n FORMAT Native"), word)  # as clickhouse-connect sends it
    assert sql_rows(settings, "SELECT count() FROM accounts FINAL") == [(0,)]


def test_two_statements_run_neither(serve, tmp_path):
    settings = serve()
    target = tmp_path / "y"
    for text in (f"SELECT 1; SELECT 'x' INTO OUTFILE '{target}'", "SELECT 1; KILL QUERY WHERE 1", "SELECT 1;SELECT 2"):
        status, _, answer = http(settings, text)
        assert status in (400, 403) and ("Multi-statements" in answer or "more than one" in answer), answer
    assert not target.exists()


def test_use_cannot_leak_and_database_is_per_request(serve):
    settings = serve(sql_sessions=1)  # one session: every request below meets the same one
    refused(http(settings, "USE system"), "USE")
    assert http(settings, "SELECT currentDatabase()", params={"database": "system"})[2] == "system\n"
    assert http(settings, "SELECT currentDatabase()")[2] == f"{settings.database}\n"
    status, _, text = http(settings, "SELECT 1", params={"database": "x; DROP"})
    assert status == 400 and "database" in text


@pytest.mark.parametrize("text", [
    "SELECT 1", "with 2 AS x select x", "SELECT 'file(''/etc/passwd'') INTO OUTFILE ; KILL'",
    "SHOW TABLES", "DESCRIBE TABLE accounts", "EXPLAIN header = 1 SELECT 1", "EXPLAIN AST SELECT 1",
    "EXISTS TABLE accounts", "SELECT number FROM numbers(3) FORMAT JSONEachRow",
    "SELECT 1 UNION ALL SELECT 2", "SELECT count() FROM accounts FINAL",
    # parameterized views, as the dashboard, the bench and analysts call them
    "SELECT count() FROM account_engagement_part(slices = 4, slice = 1)",
    "SELECT * FROM account_stage_as_of(at = now64(3) - INTERVAL 7 DAY)",
])
def test_reads_still_run(served, text):
    status, _, answer = http(served, text)
    assert status == 200, answer


# --- query-string settings are not settings -----------------------------------------------------------

def test_query_string_settings_change_nothing(serve):
    settings = serve(query_max_result_rows=10)
    params = {"readonly": "0", "max_result_rows": "0", "max_execution_time": "0", "result_overflow_mode": "break"}
    refused(http(settings, "INSERT INTO accounts (account_id, name) VALUES ('x', 'X')", params=params), "INSERT")
    status, _, text = http(settings, "SELECT number FROM numbers(100)", params=params)
    assert status == 400 and "Code: 396" in text, text


# --- finding 6: result size -----------------------------------------------------------------------------

def test_a_huge_answer_is_refused_not_sent(serve):
    settings = serve()
    status, headers, text = http(settings, "SELECT repeat('x',1000) FROM numbers(2500000)")
    assert status == 400 and headers["X-ClickHouse-Exception-Code"] == "396", text[:300]
    assert len(text) < 10_000 and "TOO_MANY_ROWS_OR_BYTES" in text
    status, _, text = http(settings, f"SELECT number FROM numbers({settings.query_max_result_rows + 1})")
    assert status == 400 and "Code: 396" in text


# --- finding 5: a stopped query's output never reaches the next answer ---------------------------------

def test_after_a_timeout_the_next_answer_is_its_own(serve):
    settings = serve(sql_sessions=1, query_timeout_s=1)
    # about 0.65 s a block of 65,536 rows: some blocks are out when the 1 s limit stops it
    status, _, text = http(settings, "SELECT number FROM system.numbers WHERE sleepEachRow(0.00001) = 0 FORMAT TSV")
    assert status == 408 and "Code: 159" in text, text[:300]
    for _ in range(3):
        assert http(settings, "SELECT 1")[:3:2] == (200, "1\n")


def test_after_any_error_the_session_is_replaced(serve):
    settings = serve(sql_sessions=1)
    for bad in ("SELECT throwIf(1)", "SELECT * FROM no_such_table", "SELEC 1"):
        assert http(settings, bad)[0] in (400, 404, 500)
        assert http(settings, "SELECT 42")[2] == "42\n"


# --- finding 7: a bounded queue, and the dashboard's own session ---------------------------------------

def test_slow_readers_queue_boundedly_and_never_starve_the_dashboard(serve):
    settings = serve(sql_sessions=1, sql_queue=1, query_timeout_s=8)
    slow = "SELECT sleepEachRow(0.5) FROM numbers(5)"  # 2.5 s on the one reader session
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(http, settings, slow)
        # the dashboard is answered while the reader session is busy
        wait_until(lambda: http(settings, "SELECT count() FROM system.processes WHERE query LIKE '%sleepEachRow(0.5)%' "
                                "AND query NOT LIKE '%processes%'", user=DASHBOARD_USER)[2] == "1\n",
                   30, what="the slow query running")
        assert http(settings, "SELECT 1", user=DASHBOARD_USER)[2] == "1\n"
        others = [pool.submit(http, settings, slow), pool.submit(http, settings, slow)]
        answers = [f.result() for f in others]
    assert first.result()[0] == 200
    assert sorted(a[0] for a in answers) == [200, 503], answers  # one waited its turn, one was told to retry
    busy = next(a for a in answers if a[0] == 503)
    assert busy[1]["Retry-After"] == "1" and "TOO_MANY_SIMULTANEOUS_QUERIES" in busy[2]


# --- authentication, Host and Origin --------------------------------------------------------------------

def test_the_token_is_required_the_ways_clickhouse_clients_send_it(serve):
    settings = serve()
    token = read_token(settings)
    assert token and len(token) >= 32
    assert http(settings, path="/ping", user=None)[:3:2] == (200, "Ok.\n")  # the readiness probe stays open
    for answer in (http(settings, "SELECT 1", user=None), http(settings, "SELECT 1", password="wrong"),
                   http(settings, "SELECT 1", user="admin"), http(settings, "SELECT 1", password=""),
                   http(settings, "SELECT 1", user=None, headers={"X-ClickHouse-Key": token[:-1]}),
                   http(settings, "SELECT 1", user=None, headers={"Authorization": "Basic !!!"})):
        status, headers, text = answer
        assert status == 401 and headers["WWW-Authenticate"].startswith("Basic"), answer
        assert "Code: 516" in text and str(token_path(settings)) in text and token not in text, text
    for user in ("default", "pulse_reader", DASHBOARD_USER):
        assert http(settings, "SELECT 1", user=user)[2] == "1\n"
    assert http(settings, "SELECT 1", user=None, headers={"X-ClickHouse-User": "pulse_reader",
                                                          "X-ClickHouse-Key": token})[2] == "1\n"
    assert http(settings, "SELECT 1", user=None, headers={"X-ClickHouse-Key": token})[2] == "1\n"
    assert http(settings, "SELECT 1", user=None, params={"user": "default", "password": token})[2] == "1\n"


def test_pulse_sql_token_setting_is_the_token(serve):
    settings = serve(sql_token="a-token-from-the-environment")
    assert http(settings, "SELECT 1", password="a-token-from-the-environment")[2] == "1\n"
    status, _, text = http(settings, "SELECT 1", password=open(token_path(settings)).read().strip())
    assert status == 401 and "PULSE_SQL_TOKEN" in text


@pytest.mark.parametrize("host, ok", [("localhost:8123", True), ("127.0.0.1", True), ("[::1]:8123", True),
                                      ("LOCALHOST", True), ("pulse-worker:8123", True),
                                      ("attacker.example:8123", False), ("127.0.0.1.attacker.example", False),
                                      ("", False)])
def test_host_must_be_loopback_or_allowed(serve, host, ok):
    settings = serve(sql_allowed_hosts=("pulse-worker",))
    status, _, text = http(settings, "SELECT 1", headers={"Host": host})
    assert (status == 200) == ok, (host, status, text)
    if not ok:
        assert status == 403 and "Host" in text


@pytest.mark.parametrize("origin, ok", [("https://attacker.example", False), ("null", False),
                                        ("http://localhost:8501", True), ("http://127.0.0.1:3000", True)])
def test_a_browser_page_of_another_origin_is_refused(served, origin, ok):
    settings = served
    for body in (None, "SELECT 1"):  # a simple GET, and a text/plain POST (no CORS preflight)
        status, _, text = http(settings, None if body else "SELECT 1", body=body,
                               headers={"Origin": origin, "Content-Type": "text/plain"})
        assert (status == 200) == ok, (origin, status, text)


def test_the_worker_writes_its_token_once_readable_by_its_owner_only(settings, start):
    worker = start("worker", settings)
    path = token_path(settings)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    token = path.read_text().strip()
    assert sql_rows(settings, "SELECT 1") == [(1,)]
    status, headers, _ = http(settings, "SELECT 1", user=None)
    assert status == 401 and "WWW-Authenticate" in headers
    worker.stop()
    start("worker", settings)
    assert path.read_text().strip() == token  # reused: clients configured once keep working
    assert http(settings, "SELECT 1")[2] == "1\n"


# --- underneath the statement check: the sessions' own limits hold alone -------------------------------

@pytest.mark.parametrize("text", [
    "INSERT INTO accounts (account_id, name) VALUES ('x', 'X')", "DROP TABLE accounts",
    "CREATE TABLE evil (x UInt8) ENGINE = Memory", "ALTER TABLE accounts DELETE WHERE 1", "SET readonly = 0",
    "SELECT 1 SETTINGS readonly = 0", "SELECT 1 SETTINGS max_result_rows = 0", "SELECT 1 SETTINGS max_execution_time = 0",
    "SELECT 1 SETTINGS max_memory_usage = 0", "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    "SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')", "SYSTEM STOP VIEW revenue_summary_report",
    "SYSTEM REFRESH VIEW program_attribution_report", "ALTER TABLE sales_velocity_report MODIFY REFRESH EVERY 1 SECOND",
])
def test_readonly_sessions_refuse_writes_and_setting_changes_by_themselves(engine, text):
    _, settings = engine
    reader = engine_reader_client(settings)
    reader.database = settings.database
    try:
        with pytest.raises(Exception) as caught:
            reader.raw_query(text)
        assert "readonly" in str(caught.value).lower() or "Code: 164" in str(caught.value), caught.value
    finally:
        reader.close()


# --- the statement check's judgement on syntax trees, as a table ---------------------------------------

@pytest.mark.parametrize("ast, reason", [
    ("SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  SelectQuery (children 1)", None),
    ("SelectWithUnionQuery (children 2)\n ExpressionList (children 1)\n Literal 'x'", "INTO OUTFILE"),
    ("SelectWithUnionQuery (children 2)\n ExpressionList (children 1)\n Identifier JSON", None),
    ("Explain EXPLAIN (children 2)\n Set\n SelectWithUnionQuery (children 1)", None),
    ("Explain EXPLAIN (children 2)\n SelectWithUnionQuery (children 1)\n Set", "SETTINGS"),
    ("ShowTables (children 1)\n Set", "SETTINGS"),
    ("KillQueryQuery Literal_UInt64_1 ASYNC (children 1)\n Literal UInt64_1", "KILL"),
    ("SelectWithUnionQuery\nSelectWithUnionQuery", "more than one statement"),
    ("SelectWithUnionQuery (children 1)\n TableExpression (children 1)\n  Function loop (children 1)", "loop()"),
    ("SelectWithUnionQuery (children 1)\n TableExpression (children 1)\n  Function newLake (children 1)",
     "table function newLake()"),
    ("SelectWithUnionQuery (children 1)\n TableExpression (children 1)\n  Function numbers (children 1)", None),
    ("SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  Function FILE (alias f)", "FILE()"),
    ("SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  Literal '\\n Function file'", None),
])
def test_refusal_reads_the_syntax_tree(ast, reason):
    statement = "KILL QUERY WHERE 1" if ast.startswith("Kill") else "SELECT ..."
    got = refusal(ast, statement)
    assert (got is None) if reason is None else (got is not None and reason in got), got


ENGINE_AWARE = Policy.for_engine({"numbers", "file", "url", "newlake"})
FROM_FUNCTION = "SelectWithUnionQuery (children 1)\n TableExpression (children 1)\n  Function {} (children 1)"


@pytest.mark.parametrize("name, reason", [
    ("numbers", None),                       # allowed table function
    ("newLake", "newLake()"),                # the engine's, not allowed: denied as a scalar too
    ("file", "file()"),
    ("account_engagement_part", None),       # not one of the engine's table functions: a parameterized view
])
def test_knowing_the_engines_table_functions_lets_parameterized_views_through(name, reason):
    got = refusal(FROM_FUNCTION.format(name), "SELECT ...", ENGINE_AWARE)
    assert (got is None) if reason is None else (got is not None and reason in got), got
    # without the engine's list, an unknown name in FROM is refused: it could be a new table function
    assert refusal(FROM_FUNCTION.format(name), "SELECT ...") is not None or name == "numbers"
