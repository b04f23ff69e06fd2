"""The alert job's SQL (named methods of sinks/store.py run it): the moments of each kind since a time, and the
latest recorded delivery of each (rule, change_id). One query per kind, so a rule set only reads what it uses.

Every moment query returns (kind, change_id, account_id, account_name, owner, tier, is_target, at, detail);
`{db}` is the database, `%(since_ms)s` the oldest moment considered (unix ms).
"""
from __future__ import annotations

# The account's name, owner, tier and target flag as last imported ('' when the account is unknown).
_ACCOUNT = """
SELECT m.kind, m.change_id, m.account_id, if(a.name = '', m.account_id, a.name), a.owner, a.tier, a.is_target,
       m.at, m.detail
FROM ({moments}) AS m
LEFT JOIN (SELECT account_id, name, owner, tier, is_target FROM {db}.accounts FINAL) AS a
       ON a.account_id = m.account_id
ORDER BY m.at, m.change_id
"""

_SINCE = "fromUnixTimestamp64Milli(%(since_ms)s, 'UTC')"


def _flag(flag: str) -> str:
    return (f"SELECT '{flag}' AS kind, concat(account_id, ':{flag}:', toString(toMonday(assumeNotNull(last_activity_at)))) "
            "AS change_id, account_id, assumeNotNull(last_activity_at) AS at, "
            "concat(toDecimalString(minutes_7d, 2), ' minutes in 7 days, ', toDecimalString(minutes_90d, 2), ' in 90 days') AS detail "
            f"FROM {{db}}.account_engagement_snapshot FINAL WHERE {flag} = 1 AND last_activity_at >= {_SINCE}")


def _with_account(moments: str) -> str:
    return _ACCOUNT.replace("{moments}", moments)


MOMENTS = {
    "became_mqa": _with_account((
        "SELECT 'became_mqa' AS kind, change_id, account_id, changed_at AS at, "
        "concat(toDecimalString(minutes_90d, 2), ' minutes in 90 days') AS detail "
        "FROM {db}.stage_changes FINAL WHERE stage_to = 'mqa' AND changed_at >= " + _SINCE)),
    "surging": _with_account(_flag("surging")),
    "re_engaged": _with_account(_flag("re_engaged")),
    "first_meeting": _with_account((
        "SELECT 'first_meeting' AS kind, concat(account_id, ':first_meeting') AS change_id, account_id, "
        "min(occurred_at) AS at, 'first meeting with sales' AS detail "
        "FROM {db}.touches FINAL WHERE type = 'meeting' AND account_id != '' "
        f"GROUP BY account_id HAVING at >= {_SINCE}")),
    # an MQL breaches once its first-touch window has passed without an attempt in it (sla_mqls, 0700)
    "sla_breach": _with_account((
        "SELECT 'sla_breach' AS kind, "
        "concat(account_id, ':sla_breach:', lower(hex(cityHash64(email, toString(mql_at))))) AS change_id, "
        "account_id, mql_at + toIntervalSecond(%(first_touch_s)s) AS at, "
        "concat('MQL of ', toString(mql_on), ': no sales attempt within ', toString(%(first_touch_s)s / 3600), "
        "' hours') AS detail "
        "FROM {db}.sla_mqls WHERE account_id != '' AND worked_in_time = 0 "
        f"AND at <= now64(3) AND at >= {_SINCE}")),
}

LATEST_DELIVERIES = """
SELECT rule, change_id, argMax(status, attempts), max(attempts), argMax(next_at, attempts)
FROM {db}.alert_deliveries
WHERE change_id IN %(ids)s
GROUP BY rule, change_id
"""
