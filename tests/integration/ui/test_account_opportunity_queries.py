"""The Account page's opportunity queries (ui/queries_revenue.py) on the real engine: both read the kept
state (opportunity_latest, 0018), so an opportunity the CRM moved to another account (an account merge)
shows, with its whole stage history, at the account it is at now, and nowhere else."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from opportunity_helpers import midnight, register_accounts, snapshot, store_snapshots
from ui.queries_revenue import ACCOUNT_OPPORTUNITIES, ACCOUNT_OPPORTUNITY_STAGES

NOW = datetime.now(timezone.utc)
H = timedelta(hours=1)
CREATED = midnight(NOW.date() - timedelta(days=20))
CLOSE = NOW.date() + timedelta(days=30)


def rows(client, db: str, sql: str, account: str) -> list[tuple]:
    """The query as the dashboard runs it, its tables named in the test's database."""
    return client.query(re.sub(r"\b(FROM|JOIN) ([a-z_]+)", rf"\1 {db}.\2", sql),
                        parameters={"account": account}).result_rows


def test_an_opportunity_moved_to_another_account_shows_only_there_with_its_history(engine):
    client, settings = engine
    db = settings.database
    register_accounts(client, db, ("acme", "Acme", True), ("globex", "Globex", True))
    store_snapshots(client, db, [
        snapshot("moved", "Prospecting", account_id="acme", created=CREATED, close=CLOSE, at=NOW - 30 * H),
        snapshot("moved", "Proposal", account_id="globex", created=CREATED, close=CLOSE, at=NOW - 10 * H),
        snapshot("kept", "Prospecting", account_id="acme", created=CREATED, close=CLOSE, at=NOW - 20 * H),
        snapshot("kept", "Closed Won", account_id="acme", closed="won", amount="900.00", created=CREATED,
                 close=NOW.date(), at=NOW - 5 * H),
    ])
    assert [(r[0], r[3]) for r in rows(client, db, ACCOUNT_OPPORTUNITIES, "acme")] == [("kept", "won")]
    assert [(r[0], r[3]) for r in rows(client, db, ACCOUNT_OPPORTUNITIES, "globex")] == [("moved", "open")]
    assert [r[:2] for r in rows(client, db, ACCOUNT_OPPORTUNITY_STAGES, "acme")] == [
        ("kept", "Prospecting"), ("kept", "Closed Won")]
    assert [r[:2] for r in rows(client, db, ACCOUNT_OPPORTUNITY_STAGES, "globex")] == [
        ("moved", "Prospecting"), ("moved", "Proposal")]
    assert rows(client, db, ACCOUNT_OPPORTUNITY_STAGES, "initech") == []
