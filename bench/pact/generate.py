"""Writes the pact-verification benchmark's pacts: N interactions (GET item, POST search,
GET with query) with type/regex/number matchers, as a v3 pact. With --broken K, K interactions
expect something the provider does not answer (both verifiers must then fail).
Usage: generate.py OUT.json [N] [--broken K]  (serving pact: generate.py OUT.json N)"""
import json
import sys

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 and not sys.argv[2].startswith("-") else 1000
broken = int(sys.argv[sys.argv.index("--broken") + 1]) if "--broken" in sys.argv else 0
interactions = []
for i in range(n):
    kind = i % 3
    if kind == 0:
        req = {"method": "GET", "path": f"/items/{i}"}
        body = {"id": i, "name": f"item-{i}", "price": 10.5 + i, "tags": ["model", "v3"],
                "owner": {"team": "ml-platform", "email": f"owner{i}@example.com"}}
        rules = {"body": {
            "$.id": {"matchers": [{"match": "integer"}]},
            "$.name": {"matchers": [{"match": "regex", "regex": "^item-[0-9]+$"}]},
            "$.price": {"matchers": [{"match": "number"}]},
            "$.tags": {"matchers": [{"match": "type", "min": 1}]},
            "$.owner.email": {"matchers": [{"match": "regex", "regex": "^[^@]+@[^@]+$"}]},
        }}
    elif kind == 1:
        req = {"method": "POST", "path": f"/search/{i}",
               "headers": {"Content-Type": "application/json"},
               "body": {"query": f"q{i}", "limit": 10}}
        body = {"query": f"q{i}", "results": [{"id": j, "score": 0.9 - j / 100} for j in range(5)]}
        rules = {"body": {"$.results": {"matchers": [{"match": "type", "min": 1}]},
                          "$.results[*].score": {"matchers": [{"match": "decimal"}]}}}
    else:
        req = {"method": "GET", "path": f"/models/{i}", "query": {"version": ["3"], "verbose": ["true"]}}
        body = {"model": f"m{i}", "version": "3", "ready": True}
        rules = {"body": {"$.ready": {"matchers": [{"match": "boolean"}]}}}
    resp = {"status": 200, "headers": {"Content-Type": "application/json"}, "body": body,
            "matchingRules": rules}
    interactions.append({"description": f"interaction {i}", "request": req, "response": resp})
for i in range(broken):
    # Expect a field the serving pact does not have.
    interactions[i * (n // max(broken, 1))]["response"]["body"]["missing_field"] = "x"
pact = {"consumer": {"name": "bench-consumer"}, "provider": {"name": "bench-provider"},
        "interactions": interactions, "metadata": {"pactSpecification": {"version": "3.0.0"}}}
with open(out, "w") as f:
    json.dump(pact, f)
