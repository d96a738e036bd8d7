"""Attributes the findings of Schemathesis and of `modelci contract test` to the planted bugs
P1..P12 of fixtures/provider/planted_service.py, and prints the comparison that
bench/openapi/schemathesis_compare.sh promises: wall times, their ratio, requests sent, which
planted bugs each tool reported (and which its requests reached without a report), and the
findings that match no planted bug.

Usage: schemathesis_compare.py OUT_DIR   (also writes OUT_DIR/TOOL.attribution.txt: each
finding with the bugs it was attributed to)
OUT_DIR holds what the shell script wrote: schemathesis.txt (st run's output),
schemathesis-report/*.ndjson and *.json, schemathesis.seconds, schemathesis.log (the service's
PLANTED_TRIGGER_LOG), and the same modelci.* files (modelci.txt, modelci.json,
modelci.seconds, modelci.log) unless modelci was skipped. Attribution reads the human output
(`st run`'s FAILURES section, modelci's `✗ METHOD /path › check` cases) with distinctive
strings per bug, so a change of either tool's wording shows up as an unattributed finding."""

import glob
import json
import os
import re
import sys

BUGS = {
    "P1": "POST /items accepts more than 3 tags (maxItems)",
    "P2": "GET /items/{id} 404 is text/plain",
    "P3": "kind c items answered with name \"\" (minLength 1)",
    "P4": "price above 5000 answered as a string",
    "P5": "GET /items?limit=101 accepted",
    "P6": "GET /items?flag=null accepted",
    "P7": "PUT invalid body answers undocumented 400 (not 422)",
    "P8": "undeclared methods answer 501, not 405 + Allow",
    "P9": "POST with price on the documented maximum (10000) answers 500",
    "P10": "GET /items?kind=... lacks X-Total-Count",
    "P11": "DELETE of an existing kind-a item answers 500 (via the link)",
    "P12": "POST /items with text/plain JSON body answers 201, not 415",
}
DECLARED = {"/items": {"GET", "POST"}, "/items/{id}": {"GET", "PUT", "DELETE"}}
METHODS = "GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS|TRACE|CONNECT"

# Each tool's check names (or failure titles) mapped to one category.
ST_CATEGORIES = [
    (r"Server error", "server_error"),
    (r"Undocumented (HTTP )?status code", "status"),
    (r"Undocumented Content-Type", "content_type"),
    (r"Response violates schema", "schema"),
    (r"Missing required (response )?header", "header"),
    (r"(Schema-violating request accepted|API accepted schema-violating request)", "accepted"),
    (r"(undeclared method|Unsupported methods?)", "method"),
]
MC_CATEGORIES = [
    (r"no server error", "server_error"),
    (r"status code documented", "status"),
    (r"content type documented", "content_type"),
    (r"body matches schema", "schema"),
    (r"required headers? present", "header"),
    (r"rejects invalid", "accepted"),
    (r"(method|405|Allow)", "method"),
    (r"(server error|5\d\d)", "server_error"),
]


def category(title, table):
    for pattern, cat in table:
        if re.search(pattern, title, re.I):
            return cat
    return "other"


def attribute(op, cat, text):
    """The planted bugs one finding points at ({} when none): op is `METHOD /path`, cat the
    check's category, text everything the tool printed about the finding."""
    method, _, path = op.rpartition(" ")  # `/items` alone: a check on the path's methods
    found = set()
    # What the tool says, without the reproducing command and the (backquoted) response body.
    msg = "\n".join(line for line in text.splitlines()
                    if "curl " not in line and not line.strip().startswith("`"))
    statuses = set(re.findall(r"(?:Received: |answered HTTP |^\[)(\d{3})", text, re.M))
    if cat == "method" or (method and path in DECLARED and method not in DECLARED[path]):
        return {"P8"}  # whatever the check: an undeclared method answered 501
    if cat == "server_error" or (cat == "status" and statuses & {"500", "501", "502", "503"}):
        if op == "POST /items":
            found.add("P9")
        elif op == "DELETE /items/{id}":
            found.add("P11")
    if cat == "status" and "400" in statuses and method == "PUT":
        found.add("P7")
    if cat == "content_type" and op == "GET /items/{id}" and "text/plain" in text:
        found.add("P2")
    if cat == "schema":
        if re.search(r"shorter than 1 character", msg):
            found.add("P3")
        if re.search(r"is not of type \"?number", msg):
            found.add("P4")
        if re.search(r"has more than 3 items|maxItems", msg):
            found.add("P1")
    if cat == "header" and "X-Total-Count" in msg:
        found.add("P10")
    if cat == "accepted" or (cat == "other" and re.search(r"accepted|rejected", msg, re.I)):
        if op == "GET /items" and re.search(r"\blimit\b", msg):
            found.add("P5")
        if op == "GET /items" and re.search(r"\bflag\b", msg):
            found.add("P6")
        if op == "POST /items" and (re.search(r"text/plain|content.type|media.type", msg, re.I)
                                    or re.search(r"Content-Type: text/plain", text)):
            found.add("P12")
        if op == "POST /items" and re.search(r"\btags\b|maxItems", msg):
            found.add("P1")
    return found


def unexplained(cat, text, found):
    """Whether a finding holds something that no planted bug explains: no bug at all, or (for a
    body schema finding) a violation message other than P1's, P3's and P4's."""
    if cat != "schema" or not found:
        return not found
    known = r"shorter than 1 character|is not of type \"?number|has more than 3 items"
    violation = (r"\bis not\b|\bis shorter\b|\bis longer\b|\bhas (more|fewer)\b|required propert"
                 r"|not allowed|\bis (greater|less)\b|not one of|[Aa]dditional propert")
    for line in text.splitlines():
        if re.search(violation, line) and not re.search(known, line):
            if not re.search(r"does not match the schema at `[^`]*`$", line.strip()):
                return True
    return False


def parse_schemathesis(text):
    """(operation, title, text) per reported check failure of `st run`'s FAILURES section."""
    body = text.split("= FAILURES =", 1)[-1].split("= SUMMARY =", 1)[0]
    findings = []
    for section in re.split(r"^_{3,} (?=(?:%s) )" % METHODS, body, flags=re.M)[1:]:
        op = section.split(" _", 1)[0].strip()
        for case in re.split(r"^\d+\. Test Case ID: ", section, flags=re.M)[1:]:
            head, _, tail = case.partition("\n[")  # tail: `[status] Reason:` + body + curl
            tail = "[" + tail
            for entry in re.split(r"^- (?=ST\d+ |[A-Z])", head, flags=re.M)[1:]:
                title = entry.splitlines()[0].strip()
                findings.append((op, title, entry + "\n" + tail))
    return findings


def parse_schemathesis_ndjson(out):
    """(operation, title, text) per failed check recorded in the NDJSON report, which keeps
    failures that `st run`'s printed summary folds away. The operation is the request's own
    method on the scenario's path (an undeclared-method probe runs under a declared operation's
    label)."""
    findings = []
    for path in glob.glob(os.path.join(out, "schemathesis-report", "*.ndjson")):
        for line in open(path, encoding="utf-8"):
            if not line.startswith('{"ScenarioFinished"'):
                continue
            recorder = json.loads(line)["ScenarioFinished"].get("recorder", {})
            for case_id, checks in recorder.get("checks", {}).items():
                exchange = recorder.get("interactions", {}).get(case_id) or {}
                request = exchange.get("request") or {}
                status = (exchange.get("response") or {}).get("status_code", "")
                for check in checks:
                    failure = (check.get("failure_info") or {}).get("failure")
                    if check.get("status") != "failure" or not failure:
                        continue
                    label = failure.get("operation") or recorder.get("label", "")
                    op = f"{request.get('method') or label.split(' ')[0]} {label.split(' ')[-1]}"
                    title = f"{failure.get('code', '')} {failure.get('title', '')}".strip()
                    text = f"{title}\n{failure.get('message', '')}\n[{status}]\n" \
                           f"curl -H 'Content-Type: " \
                           f"{(request.get('headers') or {}).get('Content-Type', [''])[0]}'"
                    findings.append((op, title, text))
    return findings


def parse_modelci(text):
    """(operation, check, text) per failed (or errored) case of modelci's output; the operation
    is `METHOD /path`, or `/path` alone for a check of the path's undeclared methods."""
    findings = []
    blocks = re.split(r"^\s*[✗!E] (?=(?:(?:%s) )?/\S* › )" % METHODS, text, flags=re.M)[1:]
    for block in blocks:
        first, _, rest = block.partition("\n")
        lines = []
        for line in rest.splitlines():
            if line.strip() and not line.startswith("    "):
                break
            lines.append(line)
        op, _, check = first.partition(" › ")
        findings.append((op.strip(), check.strip(), first + "\n" + "\n".join(lines)))
    return findings


def requests_and_triggers(log):
    """(requests the service saw, {bug: times reached}) from its PLANTED_TRIGGER_LOG."""
    sent, reached = 0, {}
    if os.path.exists(log):
        for line in open(log, encoding="utf-8", errors="replace"):
            bug = line.split(" ", 1)[0]
            if bug == "-":
                sent += 1
            elif bug in BUGS:
                reached[bug] = reached.get(bug, 0) + 1
    return sent, reached


def read(path):
    return open(path, encoding="utf-8", errors="replace").read() if os.path.exists(path) else None


def schemathesis_claims(out):
    """What Schemathesis itself says it sent: test cases generated and recorded requests."""
    claims = []
    for path in glob.glob(os.path.join(out, "schemathesis-report", "*.json")):
        cases = json.load(open(path)).get("test_cases", {})
        if "generated" in cases:
            claims.append(f"{cases['generated']} test cases generated")
    for path in glob.glob(os.path.join(out, "schemathesis-report", "*.ndjson")):
        n = 0
        for line in open(path, encoding="utf-8"):
            if line.startswith('{"ScenarioFinished"'):
                n += len(json.loads(line)["ScenarioFinished"].get("recorder", {})
                         .get("interactions", {}))
        claims.append(f"{n} requests recorded in its NDJSON report")
    return claims


def modelci_claims(out):
    path = os.path.join(out, "modelci.json")
    if not os.path.exists(path):
        return []
    try:
        report = json.load(open(path))
        per_op = {}
        for suite in report.get("suites", []):
            for case in suite.get("cases", []):
                props = case.get("properties", {})
                if "requests" in props:
                    op = props.get("operation") or case["name"].split(" › ")[0]
                    per_op[op] = max(per_op.get(op, 0), int(props["requests"]))
        return [f"{sum(per_op.values())} requests over {len(per_op)} operations (JSON report)"]
    except (ValueError, KeyError, TypeError):
        return []


def attribute_all(findings, categories):
    """{bug: [where, ...]} and the findings no planted bug explains."""
    hits, extras, audit = {}, [], []
    for op, title, text in findings:
        cat = category(title, categories)
        found = attribute(op, cat, text)
        audit.append(f"{op} › {title} [{cat}] -> {', '.join(sorted(found)) or 'no planted bug'}")
        for bug in found:
            hits.setdefault(bug, []).append(f"{op} › {title}")
        if unexplained(cat, text, found):
            detail = next((line.strip() for line in text.splitlines()[1:]
                           if line.strip() and not line.strip().startswith(("Validated", "["))),
                          "")
            extras.append(f"{op} › {title}: {detail[:110]}")
    return hits, extras, audit


def report(tool, findings, categories, out, prefix, recorded=None):
    """Prints one tool's section; `recorded` (Schemathesis' NDJSON findings) shows the bugs its
    report file holds but its printed output does not."""
    seconds = read(os.path.join(out, f"{prefix}.seconds"))
    sent, reached = requests_and_triggers(os.path.join(out, f"{prefix}.log"))
    claims = schemathesis_claims(out) if prefix == "schemathesis" else modelci_claims(out)
    hits, extras, audit = attribute_all(findings, categories)
    rec_hits, rec_extras = {}, []
    if recorded is not None:
        rec_hits, rec_extras, rec_audit = attribute_all(recorded, categories)
        audit += ["", "# recorded in the NDJSON report"] + sorted(set(rec_audit))
    with open(os.path.join(out, f"{prefix}.attribution.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(audit) + "\n")
    print(f"\n== {tool}: {len(findings)} reported failure(s), {len(hits)} of 12 planted bugs")
    print(f"   wall time {float(seconds):.2f} s" if seconds else "   wall time: n/a")
    print(f"   requests seen by the service: {sent}" + (f"; {tool} says: " + ", ".join(claims)
                                                       if claims else ""))
    for bug, what in BUGS.items():
        if bug in hits:
            where = list(dict.fromkeys(hits[bug]))
            print(f"   {bug:<4} found   {what}")
            print("          via " + "; ".join(where[:3])
                  + (f" (+{len(where) - 3} more)" if len(where) > 3 else ""))
        elif bug in rec_hits:
            print(f"   {bug:<4} HIDDEN  {what}: in the NDJSON report only, not printed")
            print("          via " + "; ".join(list(dict.fromkeys(rec_hits[bug]))[:3]))
        elif bug in reached:
            print(f"   {bug:<4} MISSED  {what}: reached {reached[bug]}x, not reported")
        else:
            print(f"   {bug:<4} MISSED  {what}: never reached")
    print(f"   findings matching no planted bug: {len(extras)}")
    for line in extras:
        print(f"     - {line}")
    hidden = sorted(set(rec_extras) - set(extras))
    if hidden:
        print(f"   ... and in the NDJSON report only: {len(hidden)}")
        for line in hidden:
            print(f"     - {line}")
    return set(hits), set(rec_hits) - set(hits), float(seconds) if seconds else None


def main():
    out = sys.argv[1]
    results = {}
    st_text = read(os.path.join(out, "schemathesis.txt"))
    if st_text is not None:
        version = re.search(r"Schemathesis v(\S+)", st_text)
        name = f"Schemathesis {version.group(1) if version else '?'}"
        results["st"] = report(name, parse_schemathesis(st_text), ST_CATEGORIES, out,
                               "schemathesis", parse_schemathesis_ndjson(out))
    mc_text = read(os.path.join(out, "modelci.txt"))
    if mc_text is not None:
        results["mc"] = report("modelci contract test", parse_modelci(mc_text), MC_CATEGORIES,
                               out, "modelci")
    if "st" in results and "mc" in results:
        (st_bugs, st_hidden, st_s), (mc_bugs, _, mc_s) = results["st"], results["mc"]
        print("\n== side by side")
        if st_s and mc_s:
            print(f"   wall time: Schemathesis {st_s:.2f} s, modelci {mc_s:.2f} s, "
                  f"ratio {st_s / mc_s:.1f}x")
            # Per request, as the service counted them (`- METHOD PATH` lines of its log).
            def requests(tool):
                text = read(os.path.join(out, f"{tool}.log")) or ""
                return sum(1 for line in text.splitlines() if line.startswith("- "))
            st_n, mc_n = requests("schemathesis"), requests("modelci")
            if st_n and mc_n:
                st_per, mc_per = st_s / st_n * 1000, mc_s / mc_n * 1000
                print(f"   per request: Schemathesis {st_per:.2f} ms ({st_n} requests), "
                      f"modelci {mc_per:.2f} ms ({mc_n} requests), ratio {st_per / mc_per:.1f}x")
        print("   bug  Schemathesis  modelci")
        for bug in BUGS:
            st = "yes" if bug in st_bugs else "no (NDJSON)" if bug in st_hidden else "no"
            print(f"   {bug:<4} {st:<13} "
                  f"{'yes' if bug in mc_bugs else 'no'}")
        print(f"   total {len(st_bugs):>3}/12       {len(mc_bugs)}/12")


if __name__ == "__main__":
    main()
