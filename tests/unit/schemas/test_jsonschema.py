"""The JSON Schema outside producers use is the one the models generate, and the README examples pass both."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema

from schemas import jsonschema as generator
from schemas.events import EVENT_TYPES
from schemas.validate import Accepted, validate

ROOT = Path(__file__).resolve().parents[3]


def readme_examples() -> list[dict]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### One example per type", 1)[1]
    block = re.search(r"```json\n(.*?)```", section, re.S).group(1)
    return json.loads(block)


def test_committed_schema_is_current():
    assert generator.PATH.read_text() == generator.render(), "run: python -m schemas.jsonschema"
    assert generator.main(["--check"]) == 0


def test_readme_has_one_valid_example_per_type_for_the_schema_and_the_validator():
    examples = readme_examples()
    assert sorted(e["type"] for e in examples) == sorted(EVENT_TYPES)
    schema = json.loads(generator.PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    validator.validate(examples)
    now = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
    for example in examples:
        result = validate(example, now=now, max_age=timedelta(days=390))
        assert isinstance(result, Accepted), (example, result)


def test_schema_refuses_what_the_validator_refuses_by_type_and_length():
    schema = json.loads(generator.PATH.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    page_view = {"type": "page_view", "occurred_at": "2026-11-25T10:00:00Z", "url": "https://x.example/"}
    assert validator.is_valid(page_view)
    assert not validator.is_valid({**page_view, "url": "x" * 2049})
    assert not validator.is_valid({**page_view, "engaged_seconds": -1})
    assert not validator.is_valid({**page_view, "type": "fax"})
    assert not validator.is_valid({k: v for k, v in page_view.items() if k != "url"})
    assert validator.is_valid({**page_view, "utm_source": "kept in properties"})
