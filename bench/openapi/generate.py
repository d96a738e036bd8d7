"""Writes two versions of a large OpenAPI 3.1 document for the diff benchmark: N resources with
5 operations each (N=100 gives 500 operations, about 2 MB of JSON), shared component schemas
with nesting and $refs, and in the new version a handful of changes of every kind (removed
operation, new required parameter, narrowed request enum, removed response property, widened
response type, new optional property...).
Usage: generate.py OLD.json NEW.json [N]"""
import copy
import json
import sys

old_path, new_path = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 100


def resource_schema(i):
    return {
        "type": "object",
        "required": ["id", "name", "status", "owner"],
        "properties": {
            "id": {"type": "integer", "minimum": 1},
            "name": {"type": "string", "minLength": 1, "maxLength": 128},
            "status": {"type": "string", "enum": ["active", "paused", "archived"]},
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 20},
            "owner": {"$ref": "#/components/schemas/Owner"},
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
            "history": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
            "description": {"type": "string", "description": f"Resource {i}. " + "Lorem ipsum dolor sit amet. " * 8},
        },
    }


doc = {
    "openapi": "3.1.0",
    "info": {"title": "Large API", "version": "1.0.0"},
    "paths": {},
    "components": {"schemas": {
        "Owner": {"type": "object", "required": ["team"], "properties": {
            "team": {"type": "string"}, "email": {"type": "string", "format": "email"}}},
        "Event": {"type": "object", "required": ["at", "kind"], "properties": {
            "at": {"type": "string", "format": "date-time"},
            "kind": {"type": "string", "enum": ["created", "updated", "deleted"]},
            "previous": {"$ref": "#/components/schemas/Event"}}},
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    }},
}
for i in range(n):
    name = f"Resource{i}"
    doc["components"]["schemas"][name] = resource_schema(i)
    ref = {"$ref": f"#/components/schemas/{name}"}
    err = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    list_params = [
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
        {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["active", "paused", "archived"]}},
    ]
    doc["paths"][f"/r{i}"] = {
        "get": {"operationId": f"list{i}", "parameters": list_params, "responses": {
            "200": {"description": "ok", "content": {"application/json": {"schema": {"type": "array", "items": ref}}}},
            "400": err}},
        "post": {"operationId": f"create{i}", "requestBody": {"required": True, "content": {"application/json": {"schema": ref}}},
                 "responses": {"201": {"description": "created", "content": {"application/json": {"schema": ref}}}, "400": err}},
    }
    doc["paths"][f"/r{i}/{{id}}"] = {
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "get": {"operationId": f"get{i}", "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": ref}}}, "404": err}},
        "put": {"operationId": f"update{i}", "requestBody": {"required": True, "content": {"application/json": {"schema": ref}}},
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": ref}}}, "404": err}},
        "delete": {"operationId": f"delete{i}", "responses": {"204": {"description": "deleted"}, "404": err}},
    }

# Documentation text, as real APIs carry: a description per operation and an example per
# response (this is what brings the document to about 2 MB).
for path, item in doc["paths"].items():
    for method, op in item.items():
        if method == "parameters":
            continue
        op["summary"] = f"{method.upper()} {path}"
        op["description"] = (f"Operation {op['operationId']} on {path}. " + "It validates its input, applies the change and answers with the resource. " * 26)
        for status, resp in op["responses"].items():
            media = resp.get("content", {}).get("application/json")
            if media is not None:
                media["example"] = {"id": 1, "name": "example", "status": "active", "score": 0.5,
                                    "tags": ["a", "b", "c"], "owner": {"team": "platform", "email": "team@example.com"},
                                    "metadata": {"k" + str(j): "v" * 10 for j in range(10)}}

new = copy.deepcopy(doc)
s = new["components"]["schemas"]
del new["paths"]["/r1/{id}"]["delete"]                                       # operation removed
new["paths"]["/r2"]["get"]["parameters"].append({"name": "region", "in": "query", "required": True, "schema": {"type": "string"}})
s["Resource3"]["properties"]["status"]["enum"] = ["active", "paused"]         # request enum narrowed
del s["Resource4"]["properties"]["score"]                                     # response property removed
s["Resource5"]["properties"]["id"] = {"type": ["integer", "string"]}          # response type widened
s["Resource6"]["properties"]["nickname"] = {"type": "string"}                 # optional property added
s["Resource7"]["required"].append("score")                                    # request property now required
new["paths"]["/r8"]["get"]["responses"]["200"]["content"] = {"text/csv": {"schema": {"type": "string"}}}
with open(old_path, "w") as f:
    json.dump(doc, f, indent=1)
with open(new_path, "w") as f:
    json.dump(new, f, indent=1)
