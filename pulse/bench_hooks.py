"""Load generator for the tracking hooks: how many events per second one hooks process gets into Kafka.

`bench_hooks(...)` starts (unless given) an embedded broker, one `pulse hooks` process, and the load in
a second process on loopback (so client and server do not share an interpreter), bounded by a request
count and a time limit. It returns a dict of results; `pulse bench` can print it.

The load uses raw HTTP/1.1 keep-alive connections with requests built before the clock starts, so the
client costs as little CPU as possible on a machine where it competes with the server.
What counts as accepted: the 202 answers (sent only after Kafka acknowledged the message), checked
against the events actually on the touches topic afterwards.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from tempfile import mkdtemp

from schemas.settings import Settings

TARGETS = ("collect", "pixel", "open")
LINK_SECRET = "bench-link-secret"


def bench_hooks(settings: Settings | None = None, *, target: str = "collect", events_per_request: int = 50,
                requests: int = 3000, max_seconds: float = 30.0, concurrency: int = 32, event_ids: bool = True,
                profile: Path | None = None, workdir: Path | None = None) -> dict:
    """Run one load against a fresh hooks process; returns the measured numbers.

    `settings.kafka_bootstrap` None starts an embedded broker on a free port. `event_ids=False` sends
    /collect events without ids, so the hooks derive them (the webhook and import case). `profile` writes a py-spy
    profile (speedscope JSON) of the hooks process during the load, when py-spy is installed.
    """
    from pulse.bench import harness

    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}")
    settings = settings or Settings()
    workdir = Path(workdir or mkdtemp(prefix="pulse-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    procs: list[harness.Proc] = []
    try:
        if settings.kafka_bootstrap is None:
            broker, bootstrap = harness.start_broker(workdir)
            procs.append(broker)
            settings = settings.replace(kafka_bootstrap=bootstrap)
        tag = uuid.uuid4().hex[:8]
        settings = settings.replace(topic_prefix=f"bench{tag}", hooks_port=harness.free_port(), hooks_host="127.0.0.1",
                                    link_secrets=(LINK_SECRET,), data_dir=workdir / "data")
        hooks = harness.start_pulse("hooks", settings, workdir, f"{settings.hooks_url}/health", timeout=60)
        procs.append(hooks)

        spy = None
        if profile is not None and shutil.which("py-spy"):
            spy = subprocess.Popen(["py-spy", "record", "-p", str(hooks.pid), "-o", str(profile), "-f", "speedscope",
                                    "-r", "200", "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cpu_before = hooks.cpu_seconds()
        spec = {"host": "127.0.0.1", "port": settings.hooks_port, "target": target, "requests": requests,
                "events_per_request": events_per_request, "max_seconds": max_seconds, "concurrency": concurrency, "event_ids": event_ids}
        load = subprocess.run([sys.executable, "-m", "pulse.bench_hooks", json.dumps(spec)], capture_output=True,
                              text=True, timeout=max_seconds + 120)
        cpu_after = hooks.cpu_seconds()
        if spy is not None:
            spy.send_signal(2)
            spy.wait(30)
        if load.returncode != 0:
            raise RuntimeError(f"the load process failed: {load.stderr[-2000:]}")
        result = json.loads(load.stdout)
        on_topic = asyncio.run(_count_on_topic(settings))
        result.update({
            "kafka_messages": on_topic[0], "kafka_events": on_topic[1],
            "hooks_cpu_s": round(cpu_after - cpu_before, 2),
            "hooks_cpu_pct": round(100 * (cpu_after - cpu_before) / result["seconds"], 1) if result["seconds"] else 0,
            "kafka_events_per_s": round(on_topic[1] / result["seconds"]) if result["seconds"] else 0,
            # Capacity per core: robust to other processes on the machine taking CPU from the hooks.
            "events_per_hooks_cpu_s": round(on_topic[1] / (cpu_after - cpu_before)) if cpu_after > cpu_before else 0,
            "load_average_1m": round(os.getloadavg()[0], 2),
            "profile": str(profile) if spy is not None else None,
        })
        return result
    finally:
        for proc in reversed(procs):
            proc.stop(timeout=20)


# -- the load process ---------------------------------------------------------------------------------

def _requests(spec: dict) -> list[bytes]:
    """Every request of the run, built up front: unique event ids, so none is a duplicate of another."""
    host = f"{spec['host']}:{spec['port']}"
    now = datetime.now(timezone.utc).isoformat()
    out = []
    if spec["target"] == "collect":
        n = spec["events_per_request"]
        for i in range(spec["requests"]):
            events = [{"type": "page_view", "event_id": str(uuid.uuid4()), "occurred_at": now,
                       "url": f"https://www.example.com/docs/page-{j}", "referrer": "https://www.google.com/",
                       "title": "Docs | Example", "anonymous_id": f"bench-{i}-{j}", "ip": f"10.{i % 250}.{j}.7"}
                      for j in range(n)]
            if not spec.get("event_ids", True):
                for event in events:
                    del event["event_id"]
            body = json.dumps(events, separators=(",", ":")).encode()
            out.append(b"POST /collect HTTP/1.1\r\nHost: " + host.encode() + b"\r\nContent-Type: text/plain\r\n"
                       b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    elif spec["target"] == "pixel":
        for i in range(spec["requests"]):
            path = f"/p.gif?u=https%3A%2F%2Fwww.example.com%2Fp{i % 100}&a=bench-{i % 5000}&e={uuid.uuid4()}"
            out.append(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    else:
        from streams.tracking.tokens import Claims, sign

        issued = int(time.time())
        for i in range(spec["requests"]):
            token = sign(LINK_SECRET, Claims(f"campaign-{i % 7}", f"person{i}@acme{i % 50}.example", issued))
            out.append(f"GET /o/{token}.gif HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    return out


async def _load(spec: dict) -> dict:
    requests = _requests(spec)
    deadline_s = spec["max_seconds"]
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    accepted = 0
    next_index = 0

    async def connection():
        nonlocal next_index, accepted
        reader, writer = await asyncio.open_connection(spec["host"], spec["port"])
        try:
            while next_index < len(requests) and time.perf_counter() - start < deadline_s:
                request = requests[next_index]
                next_index += 1
                sent = time.perf_counter()
                writer.write(request)
                status_line = await reader.readline()
                status = int(status_line.split()[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length)
                latencies.append(time.perf_counter() - sent)
                statuses[status] = statuses.get(status, 0) + 1
                if status == 202:
                    accepted += json.loads(body)["accepted"]
                elif status == 200 and spec["target"] != "collect":
                    accepted += 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(spec["concurrency"])))
    seconds = time.perf_counter() - start
    latencies.sort()

    def pct(p: float) -> float:
        return round(1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))], 2) if latencies else 0.0

    done = sum(statuses.values())
    return {
        "target": spec["target"], "event_ids": spec.get("event_ids", True), "events_per_request": spec["events_per_request"] if spec["target"] == "collect" else 1,
        "concurrency": spec["concurrency"], "requests": done, "seconds": round(seconds, 3),
        "requests_per_s": round(done / seconds) if seconds else 0,
        "accepted_events": accepted, "accepted_events_per_s": round(accepted / seconds) if seconds else 0,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "latency_ms": {"p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99), "max": pct(1.0)},
    }


async def _count_on_topic(settings: Settings) -> tuple[int, int]:
    """(messages, events) on the touches topic: what really reached Kafka."""
    import msgspec
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from schemas import topics

    topic = settings.topic(topics.TOUCHES)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", fetch_max_bytes=64 * 1024 * 1024,
                                max_partition_fetch_bytes=16 * 1024 * 1024)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        messages = events = 0
        count_events = msgspec.json.Decoder(list[msgspec.Raw]).decode
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=1000, max_records=5000)).values():
                for record in records:
                    messages += 1
                    events += len(count_events(record.value))
        return messages, events
    finally:
        await consumer.stop()


# -- helpers ---------------------------------------------------------------------------------------------

if __name__ == "__main__":  # the load process: python -m pulse.bench_hooks '<spec json>'
    print(json.dumps(asyncio.run(_load(json.loads(sys.argv[1])))))
