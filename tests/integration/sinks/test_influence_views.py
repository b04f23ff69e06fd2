"""engagement_influence, attribution_credits and program_attribution on the real engine, against numbers
worked out by hand. Touches go through the writer the worker uses (sinks/writer.py), opportunities through
the opportunity sink; days are in the reporting time zone (UTC), counted from today (T).

Attribution models, amount 100.00, touchpoints p1..pn aged 7 x (n, n-1, ..., 1) days before created_at, so
time decay weighs them 2^-n .. 2^-1 (normalised: 1/3 2/3; 1/7 2/7 4/7; 1/31 .. 16/31). Each touchpoint is
rounded half up to the cent, the last takes the rest (u_shaped with 5: 40 + 3 x 6.67 = 60.01, last 39.99).
"""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import msgspec
import pytest

from opportunity_helpers import midnight, register_accounts, snapshot, store_snapshots
from schemas.rows import TouchRow
from sinks.migrate import migrate
from sinks.reports import refresh_reports
from sinks.writer import ClickHouseWriter

NOW = datetime.now(timezone.utc)
TODAY = NOW.date()
DAY = timedelta(days=1)
MODELS = ("first_touch", "last_touch", "linear", "u_shaped", "w_shaped", "time_decay")


def touch(account: str, at: datetime, *, program: str = "", success: int = 0, minutes: str = "0",
          person: str = "p@x.example", kind: str = "email_click", channel: str = "email") -> TouchRow:
    return TouchRow(uuid.uuid4(), kind, at, at, at.astimezone(timezone.utc).date(), account, person, "contact",
                    channel, program, Decimal(minutes), Decimal(minutes), success, person, "", "", "", "{}")


def write(client, db: str, rows: list[TouchRow], versions: list[TouchRow] = ()) -> None:
    writer = ClickHouseWriter(client, db, "w-influence")
    writer.start()
    writer.write(rows, versions)


def mqa_changes(client, db: str, changes: dict[str, list[datetime]]) -> None:
    """The account's engagement stage changes to mqa, as the worker records them."""
    client.insert(f"{db}.stage_changes", [[f"{a}:{n}", a, "engaged", "mqa", at, Decimal("100")]
                                          for a, ats in changes.items() for n, at in enumerate(ats, 1)],
                  column_names=("change_id", "account_id", "stage_from", "stage_to", "changed_at", "minutes_90d"))


def credits(client, db: str, opportunity_id: str) -> dict[str, list[str]]:
    rows = client.query(f"SELECT model, credit FROM {db}.attribution_credits WHERE opportunity_id = %(o)s "
                        f"ORDER BY model, position", parameters={"o": opportunity_id}).result_rows
    out: dict[str, list[str]] = {}
    for model, credit in rows:
        out.setdefault(model, []).append(str(credit))
    return out


# --- attribution models ---------------------------------------------------------------------------------
CREATED = midnight(TODAY - DAY)


def path(account: str, n: int) -> list[TouchRow]:
    """n touchpoints of programs p1..pn, aged 7n, 7(n-1), ..., 7 days before CREATED."""
    return [touch(account, CREATED - timedelta(days=7 * (n - i + 1)), program=f"p{i}", success=1)
            for i in range(1, n + 1)]


def by_model(first, last, linear, u, w, decay) -> dict[str, list[str]]:
    return dict(zip(MODELS, (first, last, linear, u, w, decay)))


MODEL_CASES = {
    # account: (touchpoints, amount, expected credits per model, in touchpoint order)
    "m1": (1, "100.00", by_model(["100.00"], ["100.00"], ["100.00"], ["100.00"], ["100.00"], ["100.00"])),
    "m2": (2, "100.00", by_model(["100.00", "0.00"], ["0.00", "100.00"], ["50.00", "50.00"], ["50.00", "50.00"],
                                 ["50.00", "50.00"], ["33.33", "66.67"])),
    "m3": (3, "100.00", by_model(["100.00", "0.00", "0.00"], ["0.00", "0.00", "100.00"],
                                 ["33.33", "33.33", "33.34"], ["40.00", "20.00", "40.00"],
                                 ["40.00", "20.00", "40.00"], ["14.29", "28.57", "57.14"])),
    "m5": (5, "100.00", by_model(["100.00", "0.00", "0.00", "0.00", "0.00"], ["0.00", "0.00", "0.00", "0.00", "100.00"],
                                 ["20.00"] * 5, ["40.00", "6.67", "6.67", "6.67", "39.99"],
                                 ["40.00", "6.67", "6.67", "6.67", "39.99"],
                                 ["3.23", "6.45", "12.90", "25.81", "51.61"])),
    # half a cent rounds up: 0.025 -> 0.03, and the last takes the 0.02 left
    "m2-half": (2, "0.05", by_model(["0.05", "0.00"], ["0.00", "0.05"], ["0.03", "0.02"], ["0.03", "0.02"],
                                    ["0.03", "0.02"], ["0.02", "0.03"])),
}


def test_each_model_splits_the_amount_exactly_over_1_2_3_and_5_touchpoints(engine):
    client, settings = engine
    db = settings.database
    rows = [r for account, (n, _, _) in MODEL_CASES.items() for r in path(account, n)]
    write(client, db, rows)
    store_snapshots(client, db, [snapshot(f"o-{a}", account_id=a, amount=amount, created=CREATED, close=TODAY,
                                          at=NOW) for a, (_, amount, _) in MODEL_CASES.items()])
    for account, (n, amount, expected) in MODEL_CASES.items():
        got = credits(client, db, f"o-{account}")
        assert got == dict(sorted(expected.items())), account
        assert {m: sum(Decimal(c) for c in cs) for m, cs in got.items()} == {m: Decimal(amount) for m in MODELS}


W_CASES = {
    # account: (touchpoints, mqa changes as (touchpoint after which, hours later), expected w_shaped credits)
    # 5 touchpoints, MQA at the 3rd (the first change to mqa counts, not the later one): 30/5/30/5/30
    "w5-mqa3": (5, [(3, 1), (4, 1)], ["30.00", "5.00", "30.00", "5.00", "30.00"]),
    # a change at the very moment of a touchpoint: that touchpoint ("at or before")
    "w4-mqa2": (4, [(2, 0)], ["30.00", "30.00", "10.00", "30.00"]),
    # 3 distinct positions (nothing between): the unused 10 % shared by the three
    "w3-mqa2": (3, [(2, 1)], ["33.33", "33.33", "33.34"]),
    # fallbacks to U: MQA after created_at, before every touchpoint, at the first, at the last, never
    "w-after": (3, [(99, 0)], ["40.00", "20.00", "40.00"]),
    "w-before": (3, [(0, 0)], ["40.00", "20.00", "40.00"]),
    "w-first": (3, [(1, 1)], ["40.00", "20.00", "40.00"]),
    "w-last": (5, [(5, 1)], ["40.00", "6.67", "6.67", "6.67", "39.99"]),
    "w-never": (2, [], ["50.00", "50.00"]),
}


def test_w_shaped_finds_the_mqa_touchpoint_and_falls_back_to_u(engine):
    client, settings = engine
    db = settings.database
    changes, rows = {}, []
    for account, (n, mqa, _) in W_CASES.items():
        touchpoints = path(account, n)
        rows += touchpoints

        def moment(after: int, hours: int) -> datetime:
            if after == 0:
                return touchpoints[0].occurred_at - timedelta(hours=1)
            if after == 99:
                return CREATED + timedelta(hours=1)
            return touchpoints[after - 1].occurred_at + timedelta(hours=hours)
        changes[account] = [moment(a, h) for a, h in mqa]
    write(client, db, rows)
    mqa_changes(client, db, {a: c for a, c in changes.items() if c})
    store_snapshots(client, db, [snapshot(f"o-{a}", account_id=a, amount="100.00", created=CREATED, close=TODAY,
                                          at=NOW) for a in W_CASES])
    got = {a: credits(client, db, f"o-{a}")["w_shaped"] for a in W_CASES}
    assert got == {a: expected for a, (_, _, expected) in W_CASES.items()}


def test_time_decay_weighs_age_in_decimal_days(engine):
    client, settings = engine
    db = settings.database
    # ages 7 and 3.5 days: weights 0.5 and 2^-0.5 = 0.70710678; shares 0.41421356 and 0.58578644
    write(client, db, [touch("td", CREATED - timedelta(days=7), program="old", success=1),
                       touch("td", CREATED - timedelta(hours=84), program="new", success=1)])
    store_snapshots(client, db, [snapshot("o-td", account_id="td", amount="1000.00", created=CREATED, close=TODAY,
                                          at=NOW)])
    assert credits(client, db, "o-td")["time_decay"] == ["414.21", "585.79"]


def test_touchpoints_are_the_current_program_successes_within_the_attribution_days(engine):
    client, settings = engine
    db = settings.database
    year = timedelta(days=365)
    moved = touch("elsewhere", CREATED - 2 * DAY, program="moved-in", success=1)
    rows = [
        touch("edge", CREATED - year - timedelta(seconds=1), program="out-365", success=1),
        touch("edge", CREATED - year, program="in-365", success=1),         # created_at - 365 days: in
        touch("edge", CREATED - timedelta(seconds=1), program="just-before", success=1),
        touch("edge", CREATED, program="at-created", success=1),            # created_at itself: out
        touch("edge", CREATED - DAY, program="no-success", success=0),
        touch("edge", CREATED - DAY, program="", success=1),
        touch("other", CREATED - DAY, program="other-account", success=1),
        moved,
    ]
    # re-attribution: a newer version of `moved` puts it at edge; the version it replaces no longer counts
    version = msgspec.structs.replace(moved, account_id="edge", retracts=1, prev_account_id="elsewhere",
                                      prev_person=moved.person, prev_minutes=moved.minutes,
                                      prev_base_minutes=moved.base_minutes)
    write(client, db, rows)
    write(client, db, [], [version])
    store_snapshots(client, db, [snapshot(f"o-{a}", account_id=a, created=CREATED, close=TODAY, at=NOW)
                                 for a in ("edge", "elsewhere")])
    programs = f"SELECT program_id FROM {db}.attribution_credits WHERE opportunity_id = %(o)s AND model = 'linear' " \
               f"ORDER BY position"

    def touchpoints(opportunity_id: str) -> list[str]:
        return [r[0] for r in client.query(programs, parameters={"o": opportunity_id}).result_rows]

    assert touchpoints("o-edge") == ["in-365", "moved-in", "just-before"]
    assert touchpoints("o-elsewhere") == []
    # PULSE_ATTRIBUTION_DAYS is filled in by the migration runner: 1 day keeps the last two only
    migrate(client, settings.replace(attribution_days=1))  # re-creates the views, program_attribution's report too
    refresh_reports(client, db, only=("program_attribution",))
    assert touchpoints("o-edge") == ["just-before"] and \
        client.query(f"SELECT count() FROM {db}.program_attribution WHERE program_id = 'in-365' "
                     f"AND attributed_pipeline > 0").result_rows == [(0,)]


def test_touchpoints_are_read_for_the_accounts_with_an_opportunity_only(engine):
    """The join holds the opportunities and streams the program successes past them, reading only the ranges of
    the accounts with an opportunity: built from every success instead, it held 2.4 GB at 100M touches."""
    client, settings = engine
    db = settings.database
    write(client, db, [touch("acme", CREATED - DAY, program="webinar", success=1)])
    # 3 x 9,000 successes of accounts without an opportunity (more than a granule each, 8,192 rows)
    client.command(f"INSERT INTO {db}.program_successes (account_id, occurred_at, event_id, version, is_deleted, "
                   f"program_id) SELECT concat('busy-', toString(number % 3)), now64(3) - number, generateUUIDv4(), "
                   f"1, 0, 'webinar' FROM numbers(27000)")
    store_snapshots(client, db, [snapshot("o-acme", account_id="acme", created=CREATED, close=TODAY, at=NOW)])

    assert credits(client, db, "o-acme") == {m: ["100.00"] for m in sorted(MODELS)}
    plan = [r[0] for r in client.query(f"EXPLAIN indexes = 1 SELECT * FROM {db}.attribution_credits").result_rows]
    read = next(i for i, line in enumerate(plan) if f"ReadFromMergeTree ({db}.program_successes)" in line)
    selected, total = map(int, next(re.search(r"Granules: (\d+)/(\d+)", line).groups()
                                    for line in plan[read:] if re.search(r"Granules: \d+/", line)))
    assert total >= 4 and selected < total, plan[read:]


# --- program_attribution ----------------------------------------------------------------------------------
def test_program_attribution_per_program_model_and_period(engine):
    client, settings = engine
    db = settings.database
    start = midnight(TODAY)
    register_accounts(client, db, ("pa", "Pa", True), ("pb", "Pb", True))
    client.insert(f"{db}.programs", [["web-1", "Web one", "web", None, None, Decimal("100.00"), None, NOW],
                                     ["ev-1", "Event one", "event", None, None, None, None, NOW],
                                     ["idle", "Idle", "email", None, None, Decimal("50.00"), None, NOW]],
                  column_names=("program_id", "name", "channel", "starts_at", "ends_at", "cost", "audience_size",
                                "updated_at"))
    write(client, db, [touch("pa", start - 3 * DAY, program="web-1", success=1),
                       touch("pa", start - 2 * DAY, program="ev-1", success=1),
                       touch("pb", start - 103 * DAY, program="ev-1", success=1),
                       touch("pb", start - 102 * DAY, program="web-1", success=1),
                       touch("pc", start - 1 * DAY, program="ghost", success=1)])
    store_snapshots(client, db, [
        # P1: created today, won 1000.00, marketing, web-1 then ev-1
        snapshot("P1", "Closed Won", account_id="pa", closed="won", amount="1000.00", created=start, close=TODAY,
                 at=NOW, source="marketing"),
        # P2: created 100 days ago (365d only), open 500.00, sales, ev-1 then web-1
        snapshot("P2", account_id="pb", amount="500.00", created=start - 100 * DAY, close=TODAY + DAY, at=NOW,
                 source="sales"),
        # P3: created today at an unregistered account, lost 200.00, marketing, only an unregistered program
        snapshot("P3", "Closed Lost", account_id="pc", closed="lost", amount="200.00", created=start, close=TODAY,
                 at=NOW, source="marketing"),
    ])
    columns = ("name, attributed_pipeline, attributed_revenue, influenced_opportunities, influenced_pipeline, "
               "sourced_pipeline, cost, roi")
    refresh_reports(client, db, only=("program_attribution",))
    rows = {(r[0], r[1], r[2]): r[3:] for r in client.query(
        f"SELECT program_id, model, period, {columns} FROM {db}.program_attribution").result_rows}
    assert len(rows) == 4 * 6 * 5  # web-1, ev-1, idle, ghost x 6 models x 5 periods
    D = Decimal
    assert rows["web-1", "linear", "365d"] == ("Web one", D("750.00"), D("500.00"), 2, D("1500.00"), D("1000.00"),
                                              D("100.00"), D("4.0000"))
    assert rows["ev-1", "linear", "365d"] == ("Event one", D("750.00"), D("500.00"), 2, D("1500.00"), D("0.00"),
                                             None, None)
    assert rows["web-1", "first_touch", "365d"][:3] == ("Web one", D("1000.00"), D("1000.00"))
    assert rows["web-1", "first_touch", "365d"][-1] == D("9.0000")
    assert rows["ev-1", "first_touch", "365d"][:3] == ("Event one", D("500.00"), D("0.00"))
    assert rows["ghost", "w_shaped", "365d"] == ("", D("200.00"), D("0.00"), 1, D("200.00"), D("200.00"), None, None)
    assert rows["idle", "time_decay", "365d"] == ("Idle", D(0), D(0), 0, D(0), D(0), D("50.00"), D("-1.0000"))
    # this month: P2 (created 100 days ago) is out
    assert rows["web-1", "linear", "mtd"] == ("Web one", D("500.00"), D("500.00"), 1, D("1000.00"), D("1000.00"),
                                             D("100.00"), D("4.0000"))
    assert rows["ev-1", "last_touch", "mtd"][:5] == ("Event one", D("1000.00"), D("1000.00"), 1, D("1000.00"))


# --- engagement_influence --------------------------------------------------------------------------------
C = TODAY - timedelta(days=40)  # the day most opportunities were created


def minutes(account: str, by_days_before: dict[int, str], created=C) -> list[TouchRow]:
    """{days before the created day: minutes} as signed email touches at noon."""
    return [touch(account, midnight(created - timedelta(days=d)) + timedelta(hours=12), minutes=m)
            for d, m in by_days_before.items()]


def closed(opportunity_id: str, account: str, outcome: str, amount: str, cycle: int, created=C) -> dict:
    return snapshot(opportunity_id, "Closed Won" if outcome == "won" else "Closed Lost", account_id=account,
                    closed=outcome, amount=amount, created=midnight(created) + timedelta(hours=12),
                    close=created + timedelta(days=cycle), at=NOW)


INFLUENCE = [
    # (opportunity, account, outcome, amount, cycle days, {days before created: minutes}, created day)
    ("O1", "k1", "lost", "100.00", 36, {}, TODAY - timedelta(days=400)),   # closed T-364: the first day in
    ("O2", "k2", "won", "200.00", 20, {5: "9.99"}, C),                     # 9.99: not engaged
    ("O3", "k3", "lost", "150.00", 3, {1: "10"}, C),                       # 10: engaged
    ("O4", "k4", "won", "300.00", 10, {90: "4", 91: "100", 0: "100", 1: "8"}, C),  # days C-90, C-1 in: 12
    ("O5", "k5", "won", "400.00", 30, {10: "12"}, C),                      # 12 too: after O4 by id
    ("O6", "k6", "lost", "50.00", 2, {10: "50"}, C),
    ("O7", "k7", "won", "500.00", 5, {3: "80"}, C),
    ("O8", "k8", "won", "1000.00", 15, {3: "120"}, C),
    ("O9", "k9", "won", "9999.00", 35, {1: "500"}, TODAY - timedelta(days=400)),  # closed T-365: out
]


def test_engagement_influence_quartiles_ties_and_windows(engine):
    client, settings = engine
    db = settings.database
    rows = [r for o, a, *_, m, created in INFLUENCE for r in minutes(a, m, created)]
    # a claimed web touch of a person never confirmed at k8 does not count (as in account_engagement)
    rows += [touch("k8", midnight(C - 2 * DAY), minutes="5", person="stranger@k8.example", kind="page_view",
                   channel="web")]
    rows += minutes("k10", {1: "1000"})  # the open opportunity's account
    write(client, db, rows)
    store_snapshots(client, db, [closed(o, a, outcome, amount, cycle, created)
                                 for o, a, outcome, amount, cycle, _, created in INFLUENCE]
                    + [snapshot("O10", account_id="k10", created=midnight(C), close=TODAY + DAY, at=NOW)])
    refresh_reports(client, db, only=("engagement_influence",))
    got = {r[0]: r[1:] for r in client.query(f"SELECT * FROM {db}.engagement_influence").result_rows}
    D = Decimal
    # ordered by (minutes, id): O1 0, O2 9.99 | O3 10, O4 12 | O5 12, O6 50 | O7 80, O8 120
    assert got == {
        "q1": (2, 1, D("0.5000"), D("200.00"), D("20.00"), D("0.00"), D("9.99")),
        "q2": (2, 1, D("0.5000"), D("300.00"), D("10.00"), D("10.00"), D("12.00")),
        "q3": (2, 1, D("0.5000"), D("400.00"), D("30.00"), D("12.00"), D("50.00")),
        "q4": (2, 2, D("1.0000"), D("750.00"), D("10.00"), D("80.00"), D("120.00")),
        "engaged": (6, 4, D("0.6667"), D("550.00"), D("15.00"), D("10.00"), D("120.00")),
        "not_engaged": (2, 1, D("0.5000"), D("200.00"), D("20.00"), D("0.00"), D("9.99")),
    }
    assert [r[0] for r in client.query(f"SELECT segment FROM {db}.engagement_influence").result_rows] == \
        ["q1", "q2", "q3", "q4", "engaged", "not_engaged"]


def test_engagement_influence_without_closed_opportunities_has_six_empty_rows(engine):
    client, settings = engine
    refresh_reports(client, settings.database, only=("engagement_influence",))  # empty until its first refresh is done
    rows = client.query(f"SELECT * FROM {settings.database}.engagement_influence").result_rows
    assert rows == [(s, 0, 0, None, None, None, None, None)
                    for s in ("q1", "q2", "q3", "q4", "engaged", "not_engaged")]


@pytest.mark.parametrize("segment", ["q1", "q4"])
def test_engagement_influence_with_fewer_than_four_closed_fills_the_lower_quartiles(engine, segment):
    client, settings = engine
    db = settings.database
    write(client, db, minutes("solo", {1: "30"}))
    store_snapshots(client, db, [closed("S1", "solo", "won", "10.00", 4)])
    refresh_reports(client, db, only=("engagement_influence",))
    got = {r[0]: r[1:4] for r in client.query(f"SELECT segment, opportunities, won, win_rate "
                                               f"FROM {db}.engagement_influence").result_rows}
    assert got[segment] == ((1, 1, Decimal("1.0000")) if segment == "q1" else (0, 0, None))
