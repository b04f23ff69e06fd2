"""docker-compose.yml is the production path; Docker is not on these machines, so the file is checked."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from schemas.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def compose_default(value: str) -> str:
    """What docker compose substitutes for `${VAR:-default}` when VAR is unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_and_ports():
    services = compose()["services"]
    assert {"kafka", "clickhouse", "worker", "hooks", "ui", "migrate"} <= set(services)
    assert "9092:9092" in services["kafka"]["ports"]
    assert "8123:8123" in services["clickhouse"]["ports"]
    assert "8080:8080" in services["hooks"]["ports"]
    assert "8501:8501" in services["ui"]["ports"]
    assert "KRaft" in (ROOT / "docker-compose.yml").read_text() or "KAFKA_PROCESS_ROLES" in services["kafka"]["environment"]


def test_pulse_services_point_at_kafka_and_clickhouse_with_the_same_variable_names():
    services = compose()["services"]
    for name in ("worker", "hooks", "ui", "migrate"):
        env = services[name]["environment"]
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092", name
        assert "@clickhouse:8123" in env["CLICKHOUSE_URL"], name
        settings = Settings.from_env({k: compose_default(str(v)) for k, v in env.items()})
        assert not settings.embedded_broker and not settings.embedded_clickhouse
    assert services["worker"]["command"] == ["worker"]
    reader = services["ui"]["environment"]["CLICKHOUSE_READER_URL"]
    assert "pulse_reader" in reader
    users = (ROOT / "deploy/clickhouse/users.d/pulse.xml").read_text()
    assert "<readonly>1</readonly>" in users


def test_every_variable_the_settings_read_is_documented_in_the_readme():
    import re

    source = (ROOT / "schemas/settings.py").read_text()
    names = set(re.findall(r'"((?:PULSE|KAFKA|CLICKHOUSE)_[A-Z_]+)"', source))
    readme = (ROOT / "README.md").read_text()
    assert names, "no variables found"
    assert not sorted(n for n in names if n not in readme)
