"""Writes schemas/json/event.v1.json, the JSON Schema of the v1 contract, from the msgspec models.

    python -m schemas.jsonschema          # rewrite the file
    python -m schemas.jsonschema --check  # exit 1 when the committed file is stale

Outside producers validate against the file; the hooks validate with the models it comes from.
The schema describes what a producer sends: `event_id` may be left out (pulse derives it), and
fields the contract does not name are allowed (pulse keeps them in `properties`).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import msgspec

from schemas.events import LIFECYCLE_STAGES, MAX_PROPERTIES_BYTES, SCHEMA_VERSION, Event

PATH = Path(__file__).with_name("json") / f"event.v{SCHEMA_VERSION}.json"


def generate() -> dict:
    schema = msgspec.json.schema(list[Event] | Event)
    for definition in schema["$defs"].values():
        if "required" in definition:
            definition["required"] = [name for name in definition["required"] if name != "event_id"]
        props = definition.get("properties", {})
        if "event_id" in props:
            props["event_id"] = {**props["event_id"], "description":
                                 "UUID; when absent, derived from the event's content (the first accepted version wins)"}
        if "occurred_at" in props:
            props["occurred_at"]["description"] = ("ISO 8601 with a UTC offset; at most 5 minutes in the future, "
                                                   "not older than the retention window")
        if "email" in props:
            props["email"]["description"] = "trimmed and lower-cased by pulse"
        if definition.get("title") == "Opportunity":
            _opportunity(props)
        if definition.get("title") == "LifecycleChange":
            props["stage"] = {**props["stage"], "description": (
                f"one of the lifecycle stages pulse is set up with (PULSE_LIFECYCLE_STAGES; by default "
                f"{', '.join(LIFECYCLE_STAGES)})")}
        if definition.get("title") == "SalesEmail":
            props["direction"] = {**props["direction"], "description": "outbound = the rep wrote; inbound = the person replied"}
        if "properties" in props:
            props["properties"]["description"] = (f"free-form; unknown top-level fields are merged in "
                                                  f"(at most {MAX_PROPERTIES_BYTES} bytes of JSON)")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://pulse.example/schemas/event.v{SCHEMA_VERSION}.json",
        "title": f"pulse event contract v{SCHEMA_VERSION}",
        "description": ("One event, or an array of up to 500. Any of email, anonymous_id, ip, account_id "
                        "must be present. Generated from schemas/events.py: do not edit by hand."),
        **schema,
    }


def _opportunity(props: dict) -> None:
    """What the validator takes and msgspec's schema does not say: the amount as a JSON number too."""
    decimal = r"^[0-9]+(\.[0-9]{1,2})?$"
    props["amount"] = {"anyOf": [{"type": "number", "minimum": 0},
                                 {"type": "string", "pattern": decimal}],
                       "description": "decimal >= 0 with at most 2 decimals, in the reporting currency"}
    described = {"created_at": "ISO 8601 with a UTC offset; not after occurred_at",
                 "is_won": "true only when is_closed is true",
                 "currency": "ISO 4217; must be the reporting currency (PULSE_CURRENCY); absent = it",
                 "account_id": "the CRM's account id (the id space of pulse accounts import)"}
    for name, text in described.items():  # new dicts: msgspec may share one schema between fields
        props[name] = {**props[name], "description": text}


def render() -> str:
    return json.dumps(generate(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not PATH.exists() or PATH.read_text() != text:
            print(f"{PATH} is stale: run python -m schemas.jsonschema", file=sys.stderr)
            return 1
        return 0
    PATH.parent.mkdir(exist_ok=True)
    PATH.write_text(text)
    print(f"wrote {PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
