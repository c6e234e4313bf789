#!/usr/bin/env python3
"""Check the node's OpenAPI description, offline.

Usage:
    openapi-validate.py DESCRIPTION.json < checks.json

  * The description must be a valid OpenAPI 3.1 document (openapi-spec-validator).
  * Every example in it (of a schema, a request body or a response) must be valid
    against its schema (JSON Schema 2020-12, references resolved inside the document).
  * checks.json is a list of {"method", "path", "status", "body"}: real answers of the
    node; each body must be valid against the schema the description gives for that
    operation and status (the path is the description's template, e.g. /terms/{id}).

Exit status: 0 when everything holds ("valid" is printed), 1 otherwise (one line per
problem), 2 on a usage error.
"""

import json
import sys

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

BASE = "urn:raremesh:openapi"


def validator_for(doc, schema):
    """A validator of `schema`, whose `#/components/...` refs point into `doc`."""
    registry = Registry().with_resource(BASE, Resource(contents=doc, specification=DRAFT202012))
    wrapper = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    wrapper.update(rebase(schema))
    return Draft202012Validator(wrapper, registry=registry)


def rebase(node):
    """Copies `node` with local refs (#/...) made absolute (BASE#/...)."""
    if isinstance(node, dict):
        return {k: (BASE + v if k == "$ref" and isinstance(v, str) and v.startswith("#") else rebase(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [rebase(v) for v in node]
    return node


def examples_of(holder):
    """The examples an object carries (`example`, `examples` as a list or a map)."""
    found = []
    if "example" in holder:
        found.append(holder["example"])
    ex = holder.get("examples")
    if isinstance(ex, list):
        found.extend(ex)
    elif isinstance(ex, dict):
        found.extend(v.get("value") for v in ex.values() if isinstance(v, dict) and "value" in v)
    return found


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        doc = json.load(f)
    problems = []
    try:
        validate(doc)
    except Exception as exc:  # the validator raises its own error types
        problems.append(f"not a valid OpenAPI document: {exc}")

    def check(where, schema, value):
        for e in validator_for(doc, schema).iter_errors(value):
            path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path)
            problems.append(f"{where}: {path}: {e.message}")

    count = 0
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        for ex in examples_of(schema):
            count += 1
            check(f"example of schema {name}", schema, ex)
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if not isinstance(op, dict):
                continue
            contents = [("request", op.get("requestBody", {}).get("content", {}))]
            contents += [(f"response {s}", r.get("content", {})) for s, r in op.get("responses", {}).items()]
            for what, content in contents:
                for media, m in content.items():
                    schema = m.get("schema")
                    for ex in examples_of(m):
                        count += 1
                        check(f"{method.upper()} {path} {what} example", schema or {}, ex)
    checks = json.load(sys.stdin)
    for c in checks:
        op = doc.get("paths", {}).get(c["path"], {}).get(c["method"].lower())
        if op is None:
            problems.append(f"{c['method']} {c['path']}: not in the description")
            continue
        response = op.get("responses", {}).get(str(c["status"]))
        if response is None:
            problems.append(f"{c['method']} {c['path']}: status {c['status']} not described")
            continue
        content = response.get("content", {})
        schema = (content.get("application/json") or {}).get("schema")
        if schema is None:
            if c.get("body") is not None:
                problems.append(f"{c['method']} {c['path']} {c['status']}: a body, but no schema")
            continue
        check(f"{c['method']} {c['path']} {c['status']} answer", schema, c["body"])
    if problems:
        print("\n".join(problems))
        return 1
    print(f"valid ({count} examples, {len(checks)} answers)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
