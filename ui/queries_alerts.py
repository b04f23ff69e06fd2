"""The Alerts page's delivery queries (alert_deliveries, migration 0016): the latest attempt of each rule's
alert in the window, so a retried-then-sent alert shows once, as sent, with its attempts."""
from __future__ import annotations

# Inner aliases differ from the columns: ClickHouse would otherwise read `attempts` in argMax as the aggregate.
ALERT_DELIVERIES = """
SELECT d.rule AS rule, d.k AS kind, d.acc AS account_id, if(a.name = '', d.acc, a.name) AS account_name,
       d.dest AS destination, d.st AS status, d.n AS attempts, d.err AS last_error,
       d.last_at AS attempted_at, d.sent AS sent_at, d.nxt AS next_at, d.change_id AS change_id
FROM
(
    SELECT rule, change_id, argMax(kind, attempts) AS k, argMax(account_id, attempts) AS acc,
           argMax(destination, attempts) AS dest, argMax(status, attempts) AS st, max(attempts) AS n,
           argMax(last_error, attempts) AS err, max(attempted_at) AS last_at,
           argMax(sent_at, attempts) AS sent, argMax(next_at, attempts) AS nxt
    FROM alert_deliveries
    WHERE attempted_at >= now() - INTERVAL %(hours)s HOUR
    GROUP BY rule, change_id
) AS d
LEFT JOIN (SELECT account_id, name FROM accounts FINAL) AS a ON a.account_id = d.acc
ORDER BY d.last_at DESC
LIMIT 500
"""
