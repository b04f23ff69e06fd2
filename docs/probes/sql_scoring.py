"""Design probe, not product code: how fast could the engine itself resolve and weigh touches?

Run: python docs/probes/sql_scoring.py (about a minute; prints events/s and CPU per event).
Results and what they mean for the pipeline: BENCHMARKS.md, "Why 100,000 events/s is not reached".

Resolution and weighting inside chDB, with most of the product's semantics.
Registry: 100k accounts (one domain, one /26 each), 1M contacts with roles, 50k cookie links.
Events: 1M, 50 per message; raw message bytes are handed to the engine unchanged (JSONAsString);
the engine extracts fields, dedups against stored ids, resolves (account_id > contact > domain
(not free mail) > stitched cookie > IP range), weighs by type and role, keeps the object as payload,
writes touches (the product's columns) and folds engagement rows.
Left out: the page-view daily cap (applied at read time anyway), identify events storing links,
re-attribution, IPv6, parent domains, the stage clock; rows ClickHouse refuses (dead letters)."""
import time, random, uuid, json, tempfile, ipaddress
from datetime import datetime, timezone, timedelta
import clickhouse_connect
d = tempfile.mkdtemp()
c = clickhouse_connect.get_client(dsn=f"chdb://{d}")
c.command("CREATE DATABASE s")
X = c.command
X("CREATE TABLE s.contacts (email String, account_id String, role LowCardinality(String)) ENGINE = Join(ANY, LEFT, email)")
X("INSERT INTO s.contacts SELECT concat('c', toString(number), '@acc', toString(number % 100000), '.example'), if(number % 3 = 0, '', concat('a', toString(number % 100000))), ['c_level','vp','director','manager','other'][1 + number % 5] FROM numbers(1000000)")
X("CREATE TABLE s.domains (domain String, account_id String) ENGINE = Join(ANY, LEFT, domain)")
X("INSERT INTO s.domains SELECT concat('acc', toString(number), '.example'), concat('a', toString(number)) FROM numbers(100000)")
X("CREATE TABLE s.accounts (account_id String, x UInt8) ENGINE = Join(ANY, LEFT, account_id)")
X("INSERT INTO s.accounts SELECT concat('a', toString(number)), 1 FROM numbers(100000)")
X("CREATE TABLE s.freemail (domain String, x UInt8) ENGINE = Join(ANY, LEFT, domain)")
X("INSERT INTO s.freemail VALUES ('gmail.com', 1), ('yahoo.com', 1), ('outlook.com', 1)")
X("CREATE TABLE s.links (anonymous_id String, email String) ENGINE = Join(ANY, LEFT, anonymous_id)")
X("INSERT INTO s.links SELECT concat('anon-', toString(number)), concat('c', toString(number * 7 % 1000000), '@acc', toString(number * 7 % 1000000 % 100000), '.example') FROM numbers(50000)")
X("CREATE TABLE s.ranges (prefix String, account_id String) ENGINE = MergeTree ORDER BY prefix")
X("INSERT INTO s.ranges SELECT concat(IPv4NumToString(toUInt32(167772160 + number * 64)), '/26'), concat('a', toString(number)) FROM numbers(100000)")
X("CREATE DICTIONARY s.ip_dict (prefix String, account_id String) PRIMARY KEY prefix SOURCE(CLICKHOUSE(TABLE 'ranges' DB 's')) LAYOUT(IP_TRIE()) LIFETIME(0)")
X("CREATE TABLE s.roles (role String, mult Decimal(9,2)) ENGINE = Join(ANY, LEFT, role)")
X("INSERT INTO s.roles VALUES ('c_level', 2.0), ('vp', 1.5), ('director', 1.25), ('manager', 1.1), ('other', 1.0)")
X("""CREATE TABLE s.touches (event_id UUID, type LowCardinality(String), occurred_at DateTime64(3,'UTC'), received_at DateTime64(3,'UTC'), day Date,
  account_id String, person String, method LowCardinality(String), channel LowCardinality(String), program_id String,
  minutes Decimal(18,2), base_minutes Decimal(18,2), success UInt8, email String, anonymous_id String, ip String, url String, payload String,
  retracts UInt8, prev_account_id String, prev_person String, prev_minutes Decimal(18,2), prev_base_minutes Decimal(18,2),
  writer LowCardinality(String), batch_seq UInt64, version UInt64)
  ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(occurred_at) ORDER BY event_id""")
X("""CREATE TABLE s.engagement (account_id String, day Date, channel LowCardinality(String), program_id String, person String,
  minutes SimpleAggregateFunction(sum, Decimal(38,2)), touches SimpleAggregateFunction(sum, Int64)) ENGINE = AggregatingMergeTree ORDER BY (account_id, day, channel, program_id, person)""")
X("CREATE TABLE s.stage (raw String) ENGINE = Memory")
rnd = random.Random(1)
now = datetime.now(timezone.utc)
msgs = []
for m in range(20000):
    evs = []
    for i in range(50):
        n = rnd.randrange(1000000); r = rnd.random()
        e = {"type": "page_view" if r < 0.55 else "email_open" if r < 0.85 else "form_submit", "event_id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
             "occurred_at": (now - timedelta(seconds=rnd.randrange(86400 * 3))).isoformat(), "url": "https://www.example.com/pricing"}
        k = rnd.random()
        if k < 0.5: e["email"] = f"c{n}@acc{n % 100000}.example"
        elif k < 0.6: e["email"] = f"x{n}@gmail.com"
        elif k < 0.8: e["anonymous_id"] = f"anon-{rnd.randrange(100000)}"
        else: e["ip"] = str(ipaddress.IPv4Address(167772160 + rnd.randrange(100000 * 64 + 500000)))
        if e["type"] == "email_open": e["campaign_id"] = f"cmp-{rnd.randrange(20)}"
        evs.append(e)
    msgs.append(json.dumps(evs, separators=(",", ":")).encode())
SCORE = """INSERT INTO s.touches
WITH JSONExtract(raw, 'Tuple(type String, event_id UUID, occurred_at String, email Nullable(String), anonymous_id Nullable(String),
                             ip Nullable(String), url Nullable(String), campaign_id Nullable(String), program_id Nullable(String), account_id Nullable(String))') AS j
SELECT event_id, type, occurred_at, now64(3), toDate(occurred_at), account_id, person, method,
       multiIf(type IN ('page_view', 'identify'), 'web', type IN ('email_open', 'email_click'), 'email', 'form') AS channel,
       program, toDecimal64(base * mult, 2), base, toUInt8(program != ''), email, anonymous_id, ip_stored, url, raw,
       0, '', '', 0, 0, 'w', {seq}, {seq}
FROM
(
    SELECT *, multiIf(explicit_ok, explicit, ca != '', ca, da != '', da, ia) AS account_id,
           multiIf(explicit_ok, 'account_id', ca != '', if(email != '', 'contact', 'stitched'), da != '', if(email != '', 'domain', 'stitched'),
                   ia != '', 'ip', 'unresolved') AS method,
           ifNull(joinGet('s.roles', 'mult', joinGet('s.contacts', 'role', who)), toDecimal32(1, 2)) AS mult
    FROM
    (
        SELECT raw, tupleElement(j, 'event_id') AS event_id, tupleElement(j, 'type') AS type,
               parseDateTime64BestEffort(tupleElement(j, 'occurred_at'), 3, 'UTC') AS occurred_at,
               ifNull(tupleElement(j, 'email'), '') AS email, ifNull(tupleElement(j, 'anonymous_id'), '') AS anonymous_id,
               ifNull(tupleElement(j, 'ip'), '') AS ip, ifNull(tupleElement(j, 'url'), '') AS url,
               coalesce(tupleElement(j, 'program_id'), tupleElement(j, 'campaign_id'), '') AS program,
               ifNull(tupleElement(j, 'account_id'), '') AS explicit,
               explicit != '' AND joinGet('s.accounts', 'x', explicit) = 1 AS explicit_ok,
               if(email = '' AND anonymous_id != '', joinGet('s.links', 'email', anonymous_id), '') AS stitched,
               if(email != '', email, stitched) AS who,
               if(stitched != '', stitched, if(email != '', email, anonymous_id)) AS person,
               if(who != '', joinGet('s.contacts', 'account_id', who), '') AS ca,
               splitByChar('@', who)[2] AS dom,
               if(who != '' AND joinGet('s.freemail', 'x', dom) = 0, joinGet('s.domains', 'account_id', dom), '') AS da,
               if(ip != '', dictGet('s.ip_dict', 'account_id', toIPv4OrDefault(ip)), '') AS ia,
               if(ip != '', concat(IPv4NumToString(bitAnd(IPv4StringToNumOrDefault(ip), 4294967040)), ''), '') AS ip_stored,
               multiIf(type = 'form_submit', 10, type = 'email_open', 1, 1) AS base
        FROM s.stage
        WHERE event_id NOT IN (SELECT event_id FROM s.touches WHERE event_id IN (SELECT JSONExtract(raw, 'event_id', 'UUID') FROM s.stage))
        LIMIT 1 BY event_id
    )
)"""
FOLD = """INSERT INTO s.engagement SELECT account_id, day, channel, program_id, person, sum(minutes), count() FROM s.touches WHERE batch_seq = {seq}
GROUP BY account_id, day, channel, program_id, person"""
chunk = 400
t0 = time.perf_counter(); cpu0 = time.process_time(); seq = 0; py = 0.0
for i in range(0, len(msgs), chunk):
    seq += 1
    p0 = time.process_time()
    body = b"[" + b",".join(m[1:-1] for m in msgs[i:i + chunk]) + b"]"
    py += time.process_time() - p0
    c.raw_insert("s.stage", None, body, fmt="JSONAsString")
    X(SCORE.format(seq=seq))
    X(FOLD.format(seq=seq))
    X("TRUNCATE TABLE s.stage")
el = time.perf_counter() - t0; cpu = time.process_time() - cpu0
n = c.query("SELECT count(), countIf(method='contact'), countIf(method='domain'), countIf(method='stitched'), countIf(method='ip'), countIf(method='unresolved') FROM s.touches").result_rows[0]
print("stored, contact, domain, stitched, ip, unresolved:", n)
print("wall s", round(el, 2), "ev/s", round(n[0] / el), "process cpu us/event", round(cpu / n[0] * 1e6, 1), "python-side us/event", round(py / n[0] * 1e6, 2))
print(c.query("SELECT sum(minutes) FROM s.engagement").result_rows, c.query("SELECT sum(minutes) FROM s.touches").result_rows)
