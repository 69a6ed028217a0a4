"""`coop-tender schema`: the JSON Schemas of the interchange formats."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from coop_tender.errors import UserError
from coop_tender.files import write_atomic
from coop_tender.models import SCHEMAS


def json_schema(name: str) -> dict:
    """The JSON Schema of one interchange format, in its serialised (JSON) form."""
    try:
        model = SCHEMAS[name]
    except KeyError:
        raise UserError(f"schéma inconnu « {name} » (connus : {', '.join(SCHEMAS)})") from None
    return model.model_json_schema(mode="serialization")


def schema_command(args: argparse.Namespace) -> int:
    names = [args.name] if args.name else list(SCHEMAS)
    schemas = {name: json_schema(name) for name in names}
    if args.out:
        for name, schema in schemas.items():
            path = Path(args.out) / f"{name}.schema.json"
            write_atomic(path, json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
            print(path)
    else:
        doc = schemas[names[0]] if args.name else schemas
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    return 0
