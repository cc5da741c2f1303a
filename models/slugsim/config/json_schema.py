"""JSON Schema (draft 2020-12) of a topology file, for editors: completion, field docs with
defaults, and red squiggles under unknown fields. Produced from the same pydantic models that
validate files, so the two cannot drift apart.

Editors pick it up with a first line such as
``# yaml-language-server: $schema=../slugsim-topology.schema.json``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..contract import kinds
from ..emc.config import EmcConfig
from ..fabric.builder import MAX_COMPONENTS
from ..fabric.generators import FAMILIES
from ..fabric.params import LinkParams, RunOptions
from .document import COMPONENT_KEYS, TOP_LEVEL
from .schema import UNITS, model_for

# document.NAME, plus the '{i}' placeholder of counted components
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.{}\-]*$"
SCHEMA_ID = "https://slugsim.invalid/topology.schema.json"


def _unit_schema(unit: str) -> dict[str, Any]:
    """An integer (ps, bytes ...) or its text with a unit, as the params' unit fields take."""
    return {
        "anyOf": [
            {"type": "integer", "minimum": 0},
            {"type": "string", "pattern": UNITS[unit][1]},
        ]
    }


def topology_schema() -> dict[str, Any]:
    from ..sim.migration import ENTRY_KEYS as MIGRATE_KEYS

    defs: dict[str, Any] = {}

    def ref(cls: type) -> dict[str, str]:
        model: type[BaseModel] = model_for(cls)
        schema = model.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(schema.pop("$defs", {}))
        defs[cls.__name__] = schema
        return {"$ref": f"#/$defs/{cls.__name__}"}

    name = {"type": "string", "pattern": NAME_PATTERN}
    components = [
        {
            "type": "object",
            "title": kind,
            "description": f"{spec.doc} Ports: "
            + "; ".join(group.describe() for group in spec.ports),
            "properties": {
                "name": {**name, "description": COMPONENT_KEYS["name"]},
                "kind": {"const": kind, "description": COMPONENT_KEYS["kind"]},
                "count": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_COMPONENTS,
                    "description": COMPONENT_KEYS["count"],
                },
                "params": ref(spec.params),
                "description": {"type": "string", "description": COMPONENT_KEYS["description"]},
            },
            "required": ["name", "kind"],
            "additionalProperties": False,
        }
        for kind, spec in kinds().items()
    ]
    link = dict(model_for(LinkParams).model_json_schema(ref_template="#/$defs/{model}"))
    link["properties"] = {
        "between": {
            "type": "array",
            "items": name,
            "minItems": 2,
            "maxItems": 2,
            "description": "the two components (or counted groups) the link joins",
        },
        **link["properties"],
    }
    link["required"] = ["between"]
    families = []
    for family, cls in FAMILIES.items():
        schema = dict(model_for(cls).model_json_schema(ref_template="#/$defs/{model}"))
        defs.update(schema.pop("$defs", {}))
        schema["title"] = family
        schema["properties"] = {
            "family": {"const": family, "description": "generator family"},
            **schema["properties"],
        }
        schema["required"] = ["family", *schema.get("required", [])]
        families.append(schema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "slugsim topology",
        "description": "A CXL system for slugsim: components, links or a generated fabric.",
        "type": "object",
        "properties": {
            "description": {"type": "string", "description": TOP_LEVEL["description"]},
            "run": {**ref(RunOptions), "description": TOP_LEVEL["run"]},
            "components": {
                "type": "array",
                "items": {"oneOf": components},
                "description": TOP_LEVEL["components"],
            },
            "links": {"type": "array", "items": link, "description": TOP_LEVEL["links"]},
            "fabric": {"oneOf": families, "description": TOP_LEVEL["fabric"]},
            "migrate": {
                "type": "array",
                "description": TOP_LEVEL["migrate"],
                "items": {
                    "type": "object",
                    "properties": {
                        "endpoint": {"type": "string", "description": MIGRATE_KEYS["endpoint"]},
                        "to": {"type": "string", "description": MIGRATE_KEYS["to"]},
                        "at": {**_unit_schema("time"), "description": MIGRATE_KEYS["at"]},
                        "warm": {"type": "boolean", "description": MIGRATE_KEYS["warm"]},
                    },
                    "required": ["endpoint", "to", "at"],
                    "additionalProperties": False,
                },
            },
            "emc": {**ref(EmcConfig), "description": TOP_LEVEL["emc"]},
        },
        "patternProperties": {"^x-": {"description": "free: a place for YAML anchors"}},
        "additionalProperties": False,
        "$defs": defs,
    }
