"""Writes a large OpenAPI 3.1 document (and optionally a version of it with a few breaking
changes) for the scaling benchmark of `contract diff` (issue 12): N operations (N = 79,000
gives about 50 MB of JSON), deterministic (no randomness: the same N gives the same bytes).

Shape, as large real APIs have it: resources of 5 operations (list, create, get, update,
delete) on two paths; every operation has parameters (some inline, some `$ref`s to shared
`#/components/parameters`), request bodies and responses that `$ref` the resource's component
schema, which itself `$ref`s shared schemas (`Owner`, `Tag`, a recursive `Event`); error
responses `$ref` shared `#/components/responses`. Operation descriptions are short.

With --breaking, NEW gets a handful of breaking (and non-breaking) changes at fixed places:
a removed operation, a new required parameter, a narrowed enum, a removed response property,
a newly required request property, a changed media type, a narrowed shared parameter, and a
change in the shared `Tag` schema (which every resource uses, so it shows in every operation
with a body).

Usage: generate_large.py N OLD.json [NEW.json [--breaking]]"""
import copy
import json
import sys


def document(n_ops):
    resources = (n_ops + 4) // 5
    schemas = {
        "Owner": {"type": "object", "required": ["team"], "properties": {
            "team": {"type": "string", "minLength": 1}, "email": {"type": "string", "format": "email"}}},
        "Tag": {"type": "object", "required": ["key"], "properties": {
            "key": {"type": "string", "maxLength": 64}, "value": {"type": "string"}}},
        "Event": {"type": "object", "required": ["at", "kind"], "properties": {
            "at": {"type": "string", "format": "date-time"},
            "kind": {"type": "string", "enum": ["created", "updated", "deleted"]},
            "previous": {"$ref": "#/components/schemas/Event"}}},
        "Error": {"type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "integer"}, "message": {"type": "string"}}},
    }
    error = lambda d: {"description": d, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    components = {
        "schemas": schemas,
        "parameters": {
            "Limit": {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
            "Cursor": {"name": "cursor", "in": "query", "schema": {"type": "string"}},
            "Id": {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}},
        },
        "responses": {"BadRequest": error("bad request"), "NotFound": error("not found")},
    }
    paths = {}
    ops = 0
    for i in range(resources):
        name = f"Item{i}"
        schemas[name] = {
            "type": "object",
            "required": ["id", "name", "status"],
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "status": {"type": "string", "enum": ["active", "paused", "archived"]},
                "score": {"type": "number"},
                "owner": {"$ref": "#/components/schemas/Owner"},
                "tags": {"type": "array", "items": {"$ref": "#/components/schemas/Tag"}},
                "history": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
            },
        }
        ref = {"$ref": f"#/components/schemas/{name}"}
        json_of = lambda s: {"application/json": {"schema": s}}
        bad = {"$ref": "#/components/responses/BadRequest"}
        missing = {"$ref": "#/components/responses/NotFound"}
        coll, one = f"/g{i // 100}/items{i}", f"/g{i // 100}/items{i}/{{id}}"
        paths[coll] = {
            "get": {"operationId": f"list{name}",
                    "parameters": [{"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/Cursor"},
                                   {"name": "q", "in": "query", "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "ok", "content": json_of({"type": "array", "items": ref})}, "400": bad}},
            "post": {"operationId": f"create{name}",
                     "requestBody": {"required": True, "content": json_of(ref)},
                     "responses": {"201": {"description": "created", "content": json_of(ref)}, "400": bad}},
        }
        paths[one] = {
            "parameters": [{"$ref": "#/components/parameters/Id"}],
            "get": {"operationId": f"get{name}",
                    "responses": {"200": {"description": "ok", "content": json_of(ref)}, "404": missing}},
            "put": {"operationId": f"update{name}",
                    "parameters": [{"name": "If-Match", "in": "header", "schema": {"type": "string"}}],
                    "requestBody": {"required": True, "content": json_of(ref)},
                    "responses": {"200": {"description": "ok", "content": json_of(ref)}, "400": bad, "404": missing}},
            "delete": {"operationId": f"delete{name}",
                       "responses": {"204": {"description": "deleted"}, "404": missing}},
        }
        ops += 5
        # The last resource may have fewer operations, so that N is exact.
        if ops > n_ops:
            for method in ["delete", "put", "get"][: ops - n_ops]:
                del paths[one][method]
            if len(paths[one]) == 1:
                del paths[one]
    return {"openapi": "3.1.0", "info": {"title": "Large API", "version": "1.0.0"},
            "paths": paths, "components": components}


def breaking(doc):
    new = copy.deepcopy(doc)
    s = new["components"]["schemas"]
    items = [k for k in s if k.startswith("Item")]
    pick = lambda f: items[int(len(items) * f)]
    first_path = lambda name: f"/g{int(name[4:]) // 100}/items{name[4:]}"
    del new["paths"][first_path(pick(0.1))]["post"]                                       # operation removed
    new["paths"][first_path(pick(0.2))]["get"]["parameters"].append(
        {"name": "region", "in": "query", "required": True, "schema": {"type": "string"}})  # required parameter added
    s[pick(0.3)]["properties"]["status"]["enum"] = ["active", "paused"]                     # request enum narrowed
    del s[pick(0.4)]["properties"]["score"]                                                 # response property removed
    s[pick(0.5)]["required"].append("score")                                                # request property now required
    s[pick(0.6)]["properties"]["nickname"] = {"type": "string"}                             # optional property added
    new["paths"][first_path(pick(0.7))]["get"]["responses"]["200"]["content"] = {
        "text/csv": {"schema": {"type": "string"}}}                                         # media type changed
    new["components"]["parameters"]["Limit"]["schema"]["maximum"] = 50                      # shared parameter narrowed
    s["Tag"]["properties"]["key"]["maxLength"] = 32                                         # shared schema narrowed
    return new


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n, old_path = int(args[0]), args[1]
    doc = document(n)
    with open(old_path, "w") as f:
        json.dump(doc, f, indent=1)
    if len(args) > 2:
        new = breaking(doc) if "--breaking" in sys.argv else doc
        with open(args[2], "w") as f:
            json.dump(new, f, indent=1)


main()
