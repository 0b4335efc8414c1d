"""Schema compatibility within a major version.

    python -m shared.events.compat check [--schemas DIR]   # exit 1 and list every breaking change
    python -m shared.events.compat write [--schemas DIR]   # regenerate; refuses a breaking change

The committed schemas are the published contract. Within one major version a
change may only accept more: new optional fields, looser bounds, more enum
values. Removing or retyping a field, making an optional field required (or
adding a required one), removing an enum value, tightening a bound or pattern,
or forbidding additional properties needs a new major version (`.v2`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from shared.events.json_schemas import SCHEMAS_DIR, generated_schemas, load_committed, render, schema_file

_LOWER_BOUNDS = ("minLength", "minItems", "minimum", "exclusiveMinimum", "minProperties")
_UPPER_BOUNDS = ("maxLength", "maxItems", "maximum", "exclusiveMaximum", "maxProperties")


def breaking_changes(committed: dict[str, dict[str, Any]], current: dict[str, dict[str, Any]]) -> list[str]:
    """Every way `current` refuses an event that `committed` accepted, as readable lines."""
    problems = []
    for event_type, old in sorted(committed.items()):
        new = current.get(event_type)
        if new is None:
            problems.append(f"{event_type}: event type removed (a major version is never withdrawn silently)")
            continue
        problems.extend(f"{event_type}: {line}" for line in _compare(old, new, old, new, "data"))
    return problems


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = {**root.get("$defs", {})[name], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _alternatives(node: dict[str, Any], root: dict[str, Any]) -> list[dict[str, Any]]:
    node = _resolve(node, root)
    branches = node.get("anyOf") or node.get("oneOf")
    if branches:
        return [alt for branch in branches for alt in _alternatives(branch, root)]
    return [node]


def _types(node: dict[str, Any]) -> set[str]:
    declared = node.get("type")
    if declared is None:
        if "properties" in node:
            return {"object"}
        if "const" in node or "enum" in node:
            values = node.get("enum", [node.get("const")])
            return {{str: "string", bool: "boolean", int: "integer", float: "number"}.get(type(v), "null")
                    for v in values}
        return {"any"}
    types = {declared} if isinstance(declared, str) else set(declared)
    return types | {"integer"} if "number" in types else types


def _compare(old: dict[str, Any], new: dict[str, Any], old_root: dict, new_root: dict, path: str) -> list[str]:
    problems: list[str] = []
    new_alts = _alternatives(new, new_root)
    for old_alt in _alternatives(old, old_root):
        old_types = _types(old_alt)
        candidates = [alt for alt in new_alts if "any" in _types(alt) or old_types <= _types(alt)]
        if not candidates:
            problems.append(f"{path}: retyped ({'/'.join(sorted(old_types))} no longer accepted)")
            continue
        # the candidate branch that keeps the most of what the old one accepted
        problems.extend(min((_compare_one(old_alt, alt, old_root, new_root, path) for alt in candidates), key=len))
    return problems


def _compare_one(old: dict[str, Any], new: dict[str, Any], old_root: dict, new_root: dict, path: str) -> list[str]:
    problems: list[str] = []
    old_values = old.get("enum", [old["const"]] if "const" in old else None)
    new_values = new.get("enum", [new["const"]] if "const" in new else None)
    if new_values is not None:
        removed = [v for v in (old_values or []) if v not in new_values]
        if old_values is None:
            problems.append(f"{path}: restricted to the values {new_values}")
        elif removed:
            problems.append(f"{path}: enum value(s) removed: {removed}")
    for key in _LOWER_BOUNDS:
        if key in new and (key not in old or new[key] > old[key]):
            problems.append(f"{path}: bound tightened: {key} {old.get(key, 'none')} -> {new[key]}")
    for key in _UPPER_BOUNDS:
        if key in new and (key not in old or new[key] < old[key]):
            problems.append(f"{path}: bound tightened: {key} {old.get(key, 'none')} -> {new[key]}")
    for key in ("pattern", "format"):
        if key in new and new.get(key) != old.get(key):
            problems.append(f"{path}: {key} changed: {old.get(key, 'none')!r} -> {new[key]!r}")
    if old.get("additionalProperties", True) is not False and new.get("additionalProperties", True) is False:
        problems.append(f"{path}: additionalProperties tightened to false (unknown fields would be refused)")
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, old_prop in old_props.items():
        if name not in new_props:
            problems.append(f"{path}.{name}: field removed")
        else:
            problems.extend(_compare(old_prop, new_props[name], old_root, new_root, f"{path}.{name}"))
    newly_required = set(new.get("required", ())) - set(old.get("required", ()))
    for name in sorted(newly_required):
        what = "optional field made required" if name in old_props else "new field is required"
        problems.append(f"{path}.{name}: {what}")
    for key in ("items", "additionalProperties"):
        if isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
            problems.extend(_compare(old[key], new[key], old_root, new_root, f"{path}[]"))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.events.compat", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["check", "write"])
    parser.add_argument("--schemas", type=Path, default=SCHEMAS_DIR, help="the committed schemas directory")
    parser.add_argument("--allow-breaking", action="store_true", help="write even a breaking change")
    args = parser.parse_args(argv)
    committed, current = load_committed(args.schemas), generated_schemas()
    problems = breaking_changes(committed, current)
    if problems and not (args.command == "write" and args.allow_breaking):
        print(f"{len(problems)} breaking change(s) within a major version; publish a new major (.v2) instead:")
        print("\n".join(f"  - {line}" for line in problems))
        return 1
    if args.command == "write":
        args.schemas.mkdir(parents=True, exist_ok=True)
        for event_type, schema in current.items():
            schema_file(args.schemas, event_type).write_text(render(schema))
        print(f"wrote {len(current)} schemas to {args.schemas}")
        return 0
    stale = sorted(t for t, schema in current.items() if committed.get(t) != schema)
    if stale:
        print("compatible, but these schemas changed or are new; run `python -m shared.events.compat write`:")
        print("\n".join(f"  - {event_type}" for event_type in stale))
    else:
        print(f"{len(committed)} committed schemas match the models")
    return 0


if __name__ == "__main__":
    sys.exit(main())
