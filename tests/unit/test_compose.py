"""docker-compose.yml is the production path; Docker is not on these machines, so the files are checked:
what is published, which secrets each service holds and that none has a default, and what the
ClickHouse users may do."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from pulse.partenv import SECRETS
from schemas.alert_rules import load
from schemas.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
_VAR = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::([-?])([^}]*))?\}")

# What an operator sets (a .env file) before `docker compose up`.
OPERATOR = {"PULSE_CLICKHOUSE_PASSWORD": "w" * 48, "PULSE_READER_PASSWORD": "r" * 48,
            "PULSE_HOOK_SECRET": "h" * 32, "PULSE_LINK_SECRET": "l" * 32, "PULSE_UI_PASSWORD": "u" * 20}
REQUIRED = set(OPERATOR)


class Refused(Exception):
    """docker compose refuses to start: a `${VAR:?message}` variable is unset or empty."""


def substitute(value: str, env: dict[str, str]) -> str:
    """What docker compose makes of `${VAR}`, `${VAR:-default}` and `${VAR:?message}`."""
    def one(match: re.Match) -> str:
        name, kind, arg = match.groups()
        if env.get(name):
            return env[name]
        if kind == "?":
            raise Refused(f"{name}: {arg}")
        return arg if kind == "-" else ""

    return _VAR.sub(one, value)


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def service_env(name: str, env: dict[str, str] | None = None) -> dict[str, str]:
    raw = compose()["services"][name].get("environment", {})
    return {k: substitute(str(v), OPERATOR if env is None else env) for k, v in raw.items()}


def test_only_the_hooks_and_the_dashboard_are_published():
    services = compose()["services"]
    assert {"kafka", "clickhouse", "worker", "hooks", "ui", "migrate"} <= set(services)
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"hooks", "ui"}, published     # Kafka and ClickHouse: no ports at all
    assert services["hooks"]["ports"] == ["8080:8080"]
    # the dashboard on loopback unless the operator names an address of the trusted network
    (ui,) = services["ui"]["ports"]
    assert substitute(ui, {}) == "127.0.0.1:8501:8501"
    assert substitute(ui, {"PULSE_UI_BIND": "10.1.2.3"}) == "10.1.2.3:8501:8501"
    # KRaft: the broker is its own controller (the real key, not a comment)
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_kafka_and_clickhouse_live_on_internal_networks_joined_only_by_their_users():
    doc = compose()
    networks, services = doc["networks"], doc["services"]
    for name in ("ingest", "writers", "readers"):
        assert networks[name]["internal"] is True, name
    members = {net: {s for s, spec in services.items() if net in spec.get("networks", [])} for net in networks}
    assert members["ingest"] == {"kafka", "worker", "hooks"}
    assert members["writers"] == {"clickhouse", "worker", "migrate"}
    assert members["readers"] == {"clickhouse", "ui", "digest"}
    assert members["public"] == {"hooks", "ui"}
    # the way out: the digest's mail relay, the worker's alert destinations (Slack, webhooks, SMTP)
    assert members["outbound"] == {"digest", "worker"} and not networks["outbound"].get("internal")
    # ClickHouse takes the writer only from the writers' subnet, the one compose gives that network
    subnet = networks["writers"]["ipam"]["config"][0]["subnet"]
    assert substitute(subnet, {}) == service_env("clickhouse")["PULSE_WRITERS_SUBNET"] == "172.28.250.0/24"


@pytest.mark.parametrize("service", ["clickhouse", "migrate", "worker", "hooks", "ui", "digest"])
def test_secrets_are_required_with_no_default(service):
    raw = compose()["services"][service].get("environment", {})
    text = " ".join(str(v) for v in raw.values())
    for name in REQUIRED:
        assert not re.search(r"\$\{" + name + r":?-", text), f"{service}: {name} has a default"
    needed = {m.group(1) for m in _VAR.finditer(text) if m.group(1) in REQUIRED}
    for name in needed:  # compose refuses to start without it, naming it
        with pytest.raises(Refused, match=name):
            service_env(service, {k: v for k, v in OPERATOR.items() if k != name})
    # no password written into a URL: each one is a required variable
    for value in raw.values():
        for userinfo in re.findall(r"//([^@/]+)@", str(value)):
            assert re.fullmatch(r"[a-z_]+:\$\{PULSE_[A-Z_]+:\?[^}]*\}", userinfo), userinfo


@pytest.mark.parametrize("service, part", [("worker", "worker"), ("migrate", "worker"), ("hooks", "hooks"),
                                           ("ui", "ui")])
def test_each_service_holds_only_its_own_secrets(service, part):
    env = service_env(service)
    for name in env:
        if name in SECRETS:
            assert part in SECRETS[name], f"{service} holds {name}"
    if service in ("worker", "migrate"):
        assert env["CLICKHOUSE_URL"].startswith(f"http://pulse:{OPERATOR['PULSE_CLICKHOUSE_PASSWORD']}@")
    if service == "ui":  # the dashboard reads as the reader, never with the writer's password
        assert env["CLICKHOUSE_URL"] == env["CLICKHOUSE_READER_URL"]
        assert env["CLICKHOUSE_URL"].startswith("http://pulse_reader:")
        assert OPERATOR["PULSE_CLICKHOUSE_PASSWORD"] not in " ".join(env.values())
        assert env["PULSE_UI_PASSWORD"] == OPERATOR["PULSE_UI_PASSWORD"]


@pytest.mark.parametrize("service", ["worker", "hooks", "ui", "migrate", "digest"])
def test_pulse_services_read_their_settings_from_the_same_variable_names(service):
    env = service_env(service)
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    settings = Settings.from_env(env)
    assert not settings.embedded_broker
    assert settings.embedded_clickhouse is (service == "hooks")   # the hooks never talk to ClickHouse
    assert settings.trusted_proxies == ()                         # X-Forwarded-For believed from nobody
    assert not settings.fault_injection
    assert compose()["services"]["worker"]["command"] == ["worker"]


def test_the_daily_digest_is_a_service_that_runs_pulse_digest_on_its_schedule():
    """`pulse digest` (no --now): it waits for PULSE_DIGEST_AT every day; opted into with its profile, as the
    reader (no writer password, none of the hooks' or the dashboard's secrets), published nowhere."""
    digest = compose()["services"]["digest"]
    assert digest["command"] == ["digest"] and digest["profiles"] == ["digest"]
    assert digest["restart"] == "unless-stopped" and not digest.get("ports")
    env = service_env("digest")
    assert env["CLICKHOUSE_URL"] == env["CLICKHOUSE_READER_URL"]
    assert env["CLICKHOUSE_URL"].startswith("http://pulse_reader:")
    assert not {"PULSE_HOOK_SECRET", "PULSE_LINK_SECRET", "PULSE_UI_PASSWORD", "PULSE_SQL_TOKEN"} & set(env)
    assert OPERATOR["PULSE_CLICKHOUSE_PASSWORD"] not in " ".join(env.values())
    settings = Settings.from_env(env)
    assert (settings.digest_at, settings.digest_to, settings.smtp_port) == ("07:00", (), 587)
    chosen = Settings.from_env(service_env("digest", {**OPERATOR, "PULSE_DIGEST_AT": "06:30",
                                                      "PULSE_DIGEST_TO": "ceo@corp.example,cmo@corp.example"}))
    assert chosen.digest_at == "06:30" and chosen.digest_to == ("ceo@corp.example", "cmo@corp.example")


def test_the_worker_reads_its_alert_rules_read_only_and_can_reach_their_destinations():
    """Alert rules are delivered by the worker (streams/alerts_job.py): it gets the rules file, mounted read-only,
    under PULSE_ALERTS_FILE; the secrets the rules name from a file of their own (optional, never .env, which
    holds every part's secrets, and kept out of git); the dashboard's address for the links; and a way out."""
    worker = compose()["services"]["worker"]
    assert worker["volumes"] == ["./deploy/alerts.toml:/etc/pulse/alerts.toml:ro"]
    env = service_env("worker")
    settings = Settings.from_env(env)
    assert settings.alerts_file == Path("/etc/pulse/alerts.toml")
    assert settings.dashboard_url == "http://127.0.0.1:8501"
    assert Settings.from_env(service_env("worker", {**OPERATOR, "PULSE_DASHBOARD_URL": "https://pulse.corp.example"})
                             ).dashboard_url == "https://pulse.corp.example"
    assert worker["env_file"] == [{"path": "./deploy/alerts.env", "required": False}]
    assert "deploy/alerts.env" in (ROOT / ".gitignore").read_text().split()
    assert not any(s.get("env_file") or s.get("volumes", []) and "alerts" in str(s["volumes"])
                   for name, s in compose()["services"].items() if name != "worker")
    # the shipped file parses as the worker reads it, and sends nothing until the operator writes a rule
    assert load(ROOT / "deploy/alerts.toml", {}).rules == ()
    assert "outbound" in worker["networks"]


def users() -> ET.Element:
    return ET.parse(ROOT / "deploy/clickhouse/users.d/pulse.xml").getroot()


def grants(user: str) -> list[str]:
    return [q.text.strip() for q in users().findall(f"users/{user}/grants/query")]


def test_the_reader_is_read_only_capped_and_confined_to_the_pulse_database():
    root = users()
    reader = root.find("users/pulse_reader")
    profile = root.find(f"profiles/{reader.findtext('profile')}")
    assert profile.findtext("readonly") == "1"
    assert int(profile.findtext("max_result_rows")) <= 1_000_000
    assert int(profile.findtext("max_result_bytes")) <= 200_000_000
    assert profile.findtext("result_overflow_mode") == "throw"
    assert profile.findtext("max_execution_time") and profile.findtext("max_memory_usage")
    assert grants("pulse_reader") == ["GRANT SELECT, SHOW ON pulse.*"]   # no KILL, no system.*, no other db
    assert reader.findtext("access_management") == "0"
    assert reader.find("password").get("from_env") == "PULSE_READER_PASSWORD" and not reader.findtext("password")


def test_the_writer_is_confined_to_its_database_and_the_workers_network():
    root = users()
    writer = root.find("users/pulse")
    assert writer.findtext("profile") != "default"
    assert [ip.get("from_env") for ip in writer.findall("networks/ip")] == ["PULSE_WRITERS_SUBNET"]
    assert not any((ip.text or "").strip() in ("::/0", "0.0.0.0/0") for ip in writer.findall("networks/ip"))
    assert all(g.endswith(" ON pulse.*") and "KILL" not in g for g in grants("pulse"))
    assert writer.findtext("access_management") == "0"
    assert writer.find("password").get("from_env") == "PULSE_CLICKHOUSE_PASSWORD" and not writer.findtext("password")
    # the server's own passwordless user answers only inside its container
    assert [ip.text for ip in root.findall("users/default/networks/ip")] == ["::1", "127.0.0.1"]


def test_the_image_does_not_run_as_root():
    users_set = re.findall(r"^USER\s+(\S+)", (ROOT / "Dockerfile").read_text(), re.M)
    assert users_set and users_set[-1] not in ("root", "0")


def test_every_variable_the_settings_read_is_documented_in_the_readme():
    source = (ROOT / "schemas/settings.py").read_text()
    names = set(re.findall(r'"((?:PULSE|KAFKA|CLICKHOUSE)_[A-Z_]+)"', source))
    readme = (ROOT / "README.md").read_text()
    assert names, "no variables found"
    assert not sorted(n for n in names if n not in readme)


# The Compose specification, checked by a parser of it (compose_spec, the Rust crate podlet uses,
# from PyPI: Docker's own `docker-compose` 1.x no longer installs on Python 3.11). Compose
# interpolates `${VAR}` before it parses, so the check does the same with what an operator sets.
def _spec_parse(text: str):
    from compose_spec import PyOptions

    parsed = PyOptions(apply_merge=True).from_yaml(substitute(text, OPERATOR))  # `<<: *env` blocks
    parsed.validate()  # networks, volumes, configs and secrets that services name are defined
    return parsed


def test_the_compose_file_is_valid_under_the_compose_specification():
    parsed = _spec_parse((ROOT / "docker-compose.yml").read_text())
    assert parsed.service_names() == list(compose()["services"])


@pytest.mark.parametrize("change, reason", [
    (("restart: unless-stopped", "restart: sometimes"), "unknown variant `sometimes`"),
    (("{ condition: service_healthy }", "{ condition: when_ready }"), "unknown variant `when_ready`"),
    (("networks: [public, ingest]", "networks: [public, ingst]"), "`ingst`"),
    (('"8080:8080"', '"8080:80800"'), "80800"),
    (("    image: ", "    imgae: "), "imgae"),
])
def test_the_parser_refuses_what_compose_would(change, reason):
    """The check has teeth: each copy with one mistake an editor could make is refused, naming it."""
    text = (ROOT / "docker-compose.yml").read_text()
    assert change[0] in text, change[0]
    with pytest.raises(ValueError, match=reason):
        _spec_parse(text.replace(*change, 1))


def test_workers_can_be_scaled():
    """`docker compose up --scale worker=3` needs a worker with no fixed name, host port or hostname."""
    worker = _spec_parse((ROOT / "docker-compose.yml").read_text()).get_service("worker")
    fixed = {name: getattr(worker, name) for name in ("container_name", "ports", "hostname")}
    assert fixed == dict.fromkeys(fixed), fixed
    assert worker.command == ["worker"] and worker.restart == "unless-stopped"
