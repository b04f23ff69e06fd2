"""`pulse send` and `pulse sign` as a user runs them, against the real broker."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import msgspec

from conftest import ROOT, env_for, wait_until
from streams.tracking import signatures, tokens

sys.path.insert(0, str(ROOT / "tests" / "streams"))
from hooks_helpers import dead_letters, touches  # noqa: E402


def pulse(args, env, stdin: bytes | None = None):
    return subprocess.run([sys.executable, "-m", "pulse.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          input=stdin, timeout=120)


def test_send_json_lines_reports_bad_lines_by_number_and_dead_letters_them(settings, tmp_path):
    at = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    lines = [
        json.dumps({"type": "page_view", "occurred_at": at, "url": "https://x.example/a", "email": "a@acme.example"}),
        "{not json",
        json.dumps({"type": "call", "occurred_at": at, "email": "b@acme.example", "direction": "in",
                    "duration_seconds": 60, "outcome": "connected"}),
        "",
        json.dumps({"type": "meeting", "occurred_at": at, "account_id": "acme", "crm_id": "0061"}),
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = pulse(["send", str(path)], env_for(settings))
    assert result.returncode == 1
    err = result.stderr.decode()
    assert f"{path}:2: $: not valid JSON" in err
    assert f"{path}:3: direction: 'in' is not one of: inbound, outbound" in err
    assert "2 events sent, 2 rejected" in result.stdout.decode()

    events = wait_until(lambda: len(touches(settings)) == 2 and touches(settings), 30, what="two events on Kafka")
    assert {e["type"] for e in events} == {"page_view", "meeting"}
    assert [e["properties"] for e in events if e["type"] == "meeting"] == [{"crm_id": "0061"}]
    kept = wait_until(lambda: len(dead_letters(settings)) == 2 and dead_letters(settings), 30, what="two dead letters")
    assert {d["source"] for d in kept} == {"send"}
    assert {d["reasons"][0]["reason"] for d in kept} == {f"{path}:2", f"{path}:3"}

    # a re-import of the same file is recognised: the derived ids are the same
    pulse(["send", str(path)], env_for(settings))
    again = wait_until(lambda: len(touches(settings)) == 4 and touches(settings), 30, what="the re-import")
    assert len({e["event_id"] for e in again}) == 2


def test_send_csv_converts_numbers_and_keeps_extra_columns(settings, tmp_path):
    at = (datetime.now(timezone.utc) - timedelta(days=2)).isoformat()
    path = tmp_path / "calls.csv"
    path.write_text("type,occurred_at,email,direction,duration_seconds,outcome,rep,dialer_id\n"
                    f"call,{at},ceo@acme.example,outbound,300,connected,kim,d-1\n"
                    f"call,{at},cfo@acme.example,outbound,-4,connected,kim,d-2\n")
    result = pulse(["send", str(path)], env_for(settings))
    assert result.returncode == 1
    assert f"{path}:3: duration_seconds: must not be negative" in result.stderr.decode()
    events = wait_until(lambda: touches(settings), 30, what="the call on Kafka")
    assert (events[0]["duration_seconds"], events[0]["properties"]) == (300, {"dialer_id": "d-1"})


def test_dry_run_sends_nothing_and_exits_zero_when_all_valid(settings, tmp_path):
    path = tmp_path / "ok.jsonl"
    path.write_text(json.dumps({"type": "email_open", "occurred_at": datetime.now(timezone.utc).isoformat(),
                                "campaign_id": "c1", "email": "a@acme.example"}) + "\n")
    result = pulse(["send", "--dry-run", str(path)], env_for(settings))
    assert result.returncode == 0 and "1 events valid (dry run" in result.stdout.decode()


def test_sign_prints_verifiable_links_and_webhook_headers(settings, tmp_path):
    env = {**env_for(settings), "PULSE_LINK_SECRET": "new,old", "PULSE_HOOK_SECRET": "hook"}
    out = pulse(["sign", "--campaign", "nov", "--recipient", "Ana@Acme.Example", "--url", "https://x.example/wp",
                 "--base-url", "https://t.example.com"], env)
    assert out.returncode == 0, out.stderr
    open_line, click_line = out.stdout.decode().splitlines()
    open_token = open_line.split("/o/")[1].removesuffix(".gif")
    claims = tokens.verify(("new",), open_token, time.time(), 86400)
    assert (claims.campaign_id, claims.recipient, claims.url) == ("nov", "ana@acme.example", None)
    assert click_line.startswith("click https://t.example.com/c/") and click_line.endswith("?u=https%3A%2F%2Fx.example%2Fwp")
    click_token = click_line.split("/c/")[1].split("?")[0]
    assert tokens.verify(("new",), click_token, time.time(), 86400).url == "https://x.example/wp"

    many = pulse(["sign", "--campaign", "nov", "--recipient", "a@x.example", "--recipient", "b@x.example"], env)
    assert many.stdout.decode().splitlines()[0] == "recipient,open_pixel" and len(many.stdout.decode().splitlines()) == 3

    body = b'[{"type": "call"}]'
    signed = pulse(["sign", "--body", "-"], env, stdin=body)
    headers = dict(line.split(": ", 1) for line in signed.stdout.decode().splitlines())
    assert signatures.check(("hook",), headers["X-Pulse-Signature"], headers["X-Pulse-Timestamp"], body, time.time()) is None

    missing = pulse(["sign", "--campaign", "nov", "--recipient", "a@x.example"], env_for(settings))
    assert missing.returncode == 2 and "PULSE_LINK_SECRET" in missing.stderr.decode()
    assert "Traceback" not in missing.stderr.decode()


def test_dead_letter_payload_is_the_raw_line(settings, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"type": "page_view", "url": "caf\xe9"}\n')
    assert pulse(["send", str(path)], env_for(settings)).returncode == 1
    kept = wait_until(lambda: dead_letters(settings), 30, what="the dead letter")
    assert "not UTF-8" in kept[0]["reasons"][1]["reason"] and "page_view" in kept[0]["payload"]
    msgspec.json.decode(json.dumps(kept[0]).encode())
