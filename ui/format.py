"""Plain-words formatting for the dashboard: pure functions, no Streamlit, no database (unit-tested)."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

STAGES = ("unaware", "aware", "engaged", "mqa")
STAGE_LABELS = {"unaware": "Unaware", "aware": "Aware", "engaged": "Engaged", "mqa": "MQA"}
CHANNELS = ("web", "email", "event", "call", "meeting", "form")


def ago(seconds: float) -> str:
    """'2 s ago', '3 min ago', '5 h ago', '2 days ago': how old the newest data is."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"


def age_seconds(latest, now: datetime) -> float | None:
    """Seconds between a stored UTC timestamp (naive or aware, or missing) and now."""
    if latest is None or pd.isna(latest):
        return None
    ts = pd.Timestamp(latest)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    if ts.year <= 1970:  # max() of no rows is the epoch, not a time anything happened
        return None
    return (now - ts.to_pydatetime()).total_seconds()


def _utc(value) -> pd.Timestamp | None:
    """A stored time (naive = UTC, as the engine's clock is, or aware) in UTC; None when missing."""
    if value is None or pd.isna(value):
        return None
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def every(seconds: int) -> str:
    """A recomputation interval: '60 s', '5 min', '2 h'."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds >= 120 and seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def evaluation_scope(kind: str, decided: int, pending: int = 0) -> str:
    """What a stage evaluation decided, in words (stage_marks.kind, .decided and .day_pending)."""
    n = f"{decided:,} account{'' if decided == 1 else 's'}"
    left = f"; {pending:,} more the next evaluations move" if pending else ""
    return {"full": f"{n}: every account (the first evaluation, or one after a contacts import, a change of the "
                    "scoring settings or a pause of several days)",
            "day": f"{n}: those whose engagement changed, and a slice of those the new day moved in or out of a "
                   f"window{left}",
            "changed": f"{n} whose engagement changed since the evaluation before"}.get(kind, n)


def rebuild_progress(slices: int, refold: bool, days_done: int, people_done: int, decide_done: int
                     ) -> tuple[float, str]:
    """How far a full stage evaluation under way got (ui/queries_stages.STAGE_REBUILD): its share done, and the
    step it is on in words."""
    steps = [("re-folding every person-day's minutes", days_done)] if refold else []
    steps += [("rebuilding every person's sums", people_done), ("deciding every account", decide_done)]
    total = max(1, slices) * len(steps)
    done = sum(n for _, n in steps)
    doing = next((what for what, n in steps if n < slices), steps[-1][0])
    return min(1.0, done / total), f"{doing}: {done:,} of {total:,} slices done"


def web_link(url) -> str | None:
    """A page's URL as the dashboard may make it a link: absolute http(s) only, else None (shown as "—"). A page
    event's url is whatever was sent to the public /collect: a `javascript:`, `data:` or `//host` value must never
    become something a reader clicks on the dashboard's own origin."""
    if not isinstance(url, str):
        return None
    return url if url.strip().lower().startswith(("http://", "https://")) else None


def duration(ms) -> str:
    """A duration given in milliseconds: '0.4 s', '65.0 s', '2 min 5 s'."""
    s = max(0.0, float(ms)) / 1000
    return f"{s:.1f} s" if s < 90 else f"{int(s // 60)} min {round(s % 60)} s"


def reports_caption(refreshes: list[dict], reports: tuple[str, ...], seconds: int,
                    now: datetime) -> tuple[str, list[str]]:
    """The "as of" line of a page's summary reports (report_refreshes rows: report, refreshed_at, error) and a
    warning per report whose last recomputation failed. The page is as old as its oldest report, so that one
    names the time; a report not computed yet (refreshed_at NULL, or no row) means no time at all."""
    found = {r["report"]: r for r in refreshes}
    times = {name: _utc(found.get(name, {}).get("refreshed_at")) for name in reports}
    warnings = []
    for name in reports:
        error = str(found.get(name, {}).get("error") or "").strip()
        if error:
            error = error.splitlines()[0][:300]
            then = times[name]
            warnings.append(f"The report {name} could not be computed yet: {error}" if then is None else
                            f"The report {name} could not be recomputed: {error}. "
                            f"It still shows its figures as of {_clock(then, now)} UTC.")
    if not reports or any(t is None for t in times.values()):
        return "Computing the first figures…", warnings
    return f"Figures as of {_clock(min(times.values()), now)} UTC (recomputed every {every(seconds)})", warnings


def reports_help(reports: tuple[str, ...], seconds: int) -> str:
    """The definition behind the "as of" line, for its help tooltip."""
    names = ", ".join(f"`{name}`" for name in reports)
    return (f"This page's summary figures come from reports ({names}) that the engine recomputes in the "
            f"background every {every(seconds)} (PULSE_REPORT_REFRESH_SECONDS). Each is exact as of the moment "
            "it was computed, never partial; what arrived since counts from the next recomputation. The time "
            "shown is that of the oldest of them (report_refreshes.refreshed_at).")


def _clock(at: pd.Timestamp, now: datetime) -> str:
    """'18:42:05' today (UTC), '1 Dec 18:42:05' another day: a failing report can be days old."""
    return f"{at:%H:%M:%S}" if at.date() == now.astimezone(timezone.utc).date() else f"{at.day} {at:%b %H:%M:%S}"


def week_delta(now_value: int, then: dict | None, key: str) -> int | None:
    """Change against 7 days ago, or None when the stage history does not reach back that far
    (a new install records stages from its first day: no change is better than a made-up one)."""
    if then is None:
        return None
    starts = then.get("history_starts")
    if starts is None or pd.isna(starts) or pd.Timestamp(starts) > pd.Timestamp(then["as_of"]):
        return None
    return now_value - int(then[key])


def share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}% of targets" if whole else "no targets yet"


def minutes(value: float) -> str:
    """Engagement minutes for a tile: '1,234 min' (exact cents are in the tables and CSV)."""
    return f"{value:,.0f} min" if abs(value) >= 100 else f"{value:,.1f} min"


def describe_reasons(raw: str) -> str:
    """The rejected_events `reasons` JSON list as one plain line: 'occurred_at: not a time; url: missing'."""
    try:
        items = json.loads(raw)
    except (TypeError, ValueError):
        return str(raw)
    if not isinstance(items, list):
        return str(raw)
    parts = []
    for item in items:
        if isinstance(item, dict):
            field, reason = item.get("field", ""), item.get("reason", "")
            parts.append(f"{field}: {reason}" if field else str(reason))
        else:
            parts.append(str(item))
    return "; ".join(parts) or "no reason recorded"


def daily_series(rows: pd.DataFrame, ids: list[str], today: date, days: int = 30) -> dict[str, list[float]]:
    """Minutes per day for each account over `days` days ending today, zero days filled in (sparklines)."""
    span = [today - timedelta(days=days - 1 - i) for i in range(days)]
    index = {d: i for i, d in enumerate(span)}
    series = {account: [0.0] * days for account in ids}
    if rows.empty:  # an empty result carries no columns
        return series
    for account, day, value in rows[["account_id", "day", "minutes"]].itertuples(index=False):
        day = pd.Timestamp(day).date()
        if account in series and day in index:
            series[account][index[day]] = float(value)
    return series


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def filter_params(tiers, owners, stages, channels, search: str, limit: int) -> dict:
    """Leaderboard parameters: an empty choice means 'all' (a flag, so no query has an empty IN ())."""
    def pick(name: str, chosen) -> dict:
        chosen = tuple(chosen or ())
        return {f"all_{name}": 0 if chosen else 1, name: chosen or ("",)}

    return {**pick("tiers", tiers), **pick("owners", owners), **pick("stages", stages),
            **pick("channels", channels), "search": (search or "").strip(), "limit": limit}


def _decimal(value) -> Decimal | None:
    if value is None or (not isinstance(value, (str, Decimal)) and pd.isna(value)):
        return None
    return Decimal(str(value))


SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
# What a tile or a table cell shows for an empty figure (no cost, nothing won, nothing closed): never "None".
# Tables pass it as st.dataframe's placeholder (ui/components.data_table), so their cells stay numbers (sorting,
# the CSV) yet read "—".
MISSING = "—"
# Money in tables: thousands separators and always the cents ("31,012.50"); "localized" drops a trailing zero.
MONEY_FORMAT = "accounting"
# Percentages in tables: thousands separators and 2 decimals ("4,737.49%": an ROI runs into the thousands);
# printf-style, so the cell stays the number the chart and sorting use.
PERCENT_FORMAT = "%,.2f%%"


def money(value, currency: str) -> str:
    """An exact amount for a tile: '$12,345.50', or '12,345.50 CHF' for a currency without a common symbol;
    '—' when there is none (nothing won yet)."""
    amount = _decimal(value)
    if amount is None:
        return MISSING
    text = f"{amount.quantize(Decimal('0.01'), ROUND_HALF_UP):,}"
    return f"{SYMBOLS[currency]}{text}" if currency in SYMBOLS else f"{text} {currency}"


def rate(value) -> str:
    """A fraction of the revenue views (0.6667) as a percentage: '66.67%', '4,737.49%' (an ROI); '—' when empty
    (nothing closed)."""
    fraction = _decimal(value)
    return MISSING if fraction is None else f"{(fraction * 100).quantize(Decimal('0.01'), ROUND_HALF_UP):,}%"


def days(value) -> str:
    """A number of days: '33.33 days', '1 day'; '—' when empty."""
    count = _decimal(value)
    if count is None:
        return MISSING
    return "1 day" if count == 1 else f"{count.normalize():,f} days"


MIN_CLOSED_FOR_INFLUENCE = 8  # fewer closed opportunities make quartiles of one or two: no claim


def influence_headline(segments: dict[str, dict]) -> str:
    """engagement_influence's rows (segment -> row) as the sentence leadership reads: how much faster the
    most engaged quarter's won opportunities closed than the least engaged quarter's, and its win rate as a
    multiple of theirs; or why there is no such sentence yet."""
    closed = sum(int(segments.get(q, {}).get("opportunities") or 0) for q in ("q1", "q2", "q3", "q4"))
    if closed < MIN_CLOSED_FOR_INFLUENCE:
        return f"Not enough closed opportunities yet: {closed} of {MIN_CLOSED_FOR_INFLUENCE}."
    top, bottom = segments["q4"], segments["q1"]
    win_top, win_bottom = _decimal(top.get("win_rate")) or Decimal(0), _decimal(bottom.get("win_rate")) or Decimal(0)
    if win_bottom == 0 or win_top == 0:
        if win_bottom == win_top:
            return "Neither the most nor the least engaged quarter of accounts has won an opportunity yet."
        won, other = ("most", "least") if win_top else ("least", "most")
        return (f"Opportunities of the {won} engaged quarter of accounts won {rate(win_top or win_bottom)} of the "
                f"time; the {other} engaged quarter's have not won yet.")
    times = f"{(win_top / win_bottom).quantize(Decimal('0.01'), ROUND_HALF_UP).normalize():f}×"
    cycle_top, cycle_bottom = _decimal(top.get("avg_cycle_days")), _decimal(bottom.get("avg_cycle_days"))
    if cycle_top is None or not cycle_bottom:  # both won, so only a cycle of 0 days leaves nothing to compare
        return f"Opportunities of the most engaged quarter of accounts won {times} as often as the least engaged's."
    change = ((cycle_bottom - cycle_top) / cycle_bottom * 100).quantize(Decimal("1"), ROUND_HALF_UP)
    speed = ("as fast as the least engaged quarter's" if change == 0 else
             f"{abs(change)}% {'faster' if change > 0 else 'slower'} than the least engaged quarter's")
    return f"Opportunities of the most engaged quarter of accounts closed {speed}, and won {times} as often."
