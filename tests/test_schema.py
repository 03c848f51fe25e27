"""The JSON Schema: generated from the models, committed, and describing every property."""

from __future__ import annotations

import json
from typing import Any

from generator.cli import schema_json
from generator.model import MODELINE, json_schema
from tests.conftest import EXAMPLES, run_cli


def test_committed_schema_is_the_generated_one() -> None:
    committed = (EXAMPLES / "client.schema.json").read_text(encoding="utf-8")
    assert committed == schema_json() + "\n", "run `make schema` and commit the result"


def test_schema_command_prints_it() -> None:
    result = run_cli("schema")
    assert result.code == 0
    assert json.loads(result.out) == json_schema()


def _properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = [(name, prop) for name, prop in schema.get("properties", {}).items()]
    for definition in schema.get("$defs", {}).values():
        found += _properties(definition)
    return found


def test_every_property_has_a_description() -> None:
    props = _properties(json_schema())
    assert len(props) > 30
    missing = [name for name, prop in props if not prop.get("description")]
    assert missing == []


def test_schema_rejects_unknown_keys_everywhere() -> None:
    schema = json_schema()
    assert schema["additionalProperties"] is False
    for name, definition in schema["$defs"].items():
        assert definition["additionalProperties"] is False, name


def test_examples_carry_the_schema_modeline() -> None:
    for path in EXAMPLES.glob("*.yml"):
        assert path.read_text(encoding="utf-8").splitlines()[0] == MODELINE
