#!/usr/bin/env python3
"""Validate a JSON document against a GA4GH Beacon v2 JSON Schema, offline.

Usage:
    beacon-validate.py SCHEMA_ROOT SCHEMA_FILE < document.json

    SCHEMA_ROOT  the beacon-v2 folder (the one holding framework/ and models/)
    SCHEMA_FILE  a schema file relative to SCHEMA_ROOT, e.g.
                 framework/json/responses/beaconCountResponse.json

Exit status:
    0  the document is valid ("valid" is printed)
    1  the document is invalid (one line per error: instance path and message)
    2  usage error, unreadable input, or a $ref that cannot be resolved locally

Every `$ref` is resolved from the files under SCHEMA_ROOT; nothing is ever
fetched over the network:

  * relative refs ("../common/ontologyTerm.json",
    "./sections/beaconResponseMeta.json#/definitions/...") are resolved by the
    JSON Schema rules against the file:// URI of the referring file, so they
    land on the right local file (including refs from models/ into framework/);
  * absolute http(s) refs into the beacon-v2 repository, e.g.
    https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/framework/json/common/ontologyTerm.json
    are mapped to SCHEMA_ROOT/<path after the repository and branch part>;
  * anything else (e.g. the external GA4GH VRS schema) is reported as
    unresolvable instead of being downloaded.

The JSON Schema draft is the one the schema declares in `$schema`
(via jsonschema.validators.validator_for); draft 2020-12 is assumed for
files that declare none. `format` keywords are checked with the
validator's own format checker (formats whose optional checker packages are
not installed are skipped by jsonschema).

Requires the `jsonschema` (>= 4.18) and `referencing` packages.
"""

import json
import sys
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from jsonschema.validators import validator_for
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable
from referencing.jsonschema import DRAFT202012, specification_with

# Top-level folders of the beacon-v2 repository; an http(s) URL is mapped to
# a local file from the first of these path segments onwards.
REPO_TOP_DIRS = ("framework", "models")


def usage(message):
    """Print a usage error and exit with status 2."""
    print(f"error: {message}", file=sys.stderr)
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    sys.exit(2)


def url_to_local_path(uri, root):
    """Map a schema URI to a file under `root`, or return None.

    file:// URIs are taken as they are (but must stay inside `root`);
    http(s) URIs must contain a "beacon-v2" path segment followed, somewhere
    later, by "framework" or "models" (this skips the branch/commit part of
    e.g. raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/...).
    """
    parts = urlsplit(uri)
    if parts.scheme == "file":
        candidate = Path(unquote(parts.path))
    elif parts.scheme in ("http", "https"):
        segments = [unquote(s) for s in parts.path.split("/") if s]
        if "beacon-v2" not in segments:
            return None
        after_repo = segments[segments.index("beacon-v2") + 1:]
        starts = [i for i, s in enumerate(after_repo) if s in REPO_TOP_DIRS]
        if not starts:
            return None
        candidate = root.joinpath(*after_repo[starts[0]:])
    else:
        return None

    candidate = candidate.resolve()
    # Refuse to read anything outside the schema folder.
    if root != candidate and root not in candidate.parents:
        return None
    return candidate


def make_registry(root, default_spec):
    """Build a referencing.Registry that retrieves schemas from local files."""

    @lru_cache(maxsize=None)
    def retrieve(uri):
        path = url_to_local_path(uri, root)
        if path is None or not path.is_file():
            # NoSuchResource makes jsonschema report an unresolvable $ref;
            # we never fall back to the network.
            raise NoSuchResource(ref=uri)
        with open(path, encoding="utf-8") as handle:
            contents = json.load(handle)
        # Honour the file's own $schema if it is a known dialect, otherwise
        # use the root schema's draft.
        spec = default_spec
        if isinstance(contents, dict) and isinstance(contents.get("$schema"), str):
            spec = specification_with(contents["$schema"], default=default_spec)
        return Resource(contents=contents, specification=spec)

    return Registry(retrieve=retrieve)


def json_path(error):
    """Render the location of an error in the instance as $.a.b[0].c."""
    text = "$"
    for part in error.absolute_path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def main(argv):
    if len(argv) != 3:
        usage("expected exactly two arguments")
    root = Path(argv[1]).resolve()
    schema_path = (root / argv[2]).resolve()
    if not root.is_dir():
        usage(f"SCHEMA_ROOT {root} is not a directory")
    if not schema_path.is_file():
        usage(f"SCHEMA_FILE {schema_path} does not exist")

    with open(schema_path, encoding="utf-8") as handle:
        schema = json.load(handle)
    try:
        document = json.load(sys.stdin)
    except json.JSONDecodeError as exc:
        print(f"error: the document on stdin is not valid JSON: {exc}",
              file=sys.stderr)
        return 2

    # Pick the validator class from the schema's declared $schema.
    validator_cls = validator_for(schema, default=validator_for({}))
    default_spec = (
        specification_with(schema["$schema"], default=DRAFT202012)
        if isinstance(schema.get("$schema"), str) else DRAFT202012
    )
    registry = make_registry(root, default_spec)

    # The Beacon schemas have no $id, so relative refs need a base URI. We
    # validate against a one-line wrapper schema that $refs the file:// URI of
    # the requested schema: the registry loads it from disk, and all refs
    # inside it then resolve relative to that file's own URI.
    wrapper = {"$ref": schema_path.as_uri()}
    if "$schema" in schema:
        wrapper["$schema"] = schema["$schema"]
    validator = validator_cls(
        wrapper,
        registry=registry,
        format_checker=validator_cls.FORMAT_CHECKER,
    )

    try:
        errors = sorted(
            validator.iter_errors(document),
            key=lambda e: (list(map(str, e.absolute_path)), e.message),
        )
    except Unresolvable as exc:
        print(f"error: cannot resolve $ref locally: {exc}", file=sys.stderr)
        return 2

    if not errors:
        print("valid")
        return 0

    for error in errors:
        print(f"{json_path(error)}: {error.message}")
        # For oneOf/anyOf failures, show why each alternative was rejected
        # (the first element of a sub-error's schema path is the branch index).
        for sub in sorted(error.context or (), key=lambda e: list(map(str, e.relative_schema_path))):
            branch = sub.relative_schema_path[0] if sub.relative_schema_path else "?"
            print(f"    branch {branch}: {json_path(sub)}: {sub.message}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
