//! Runs the jsoncompat backward-compatibility corpus (third-party data, read
//! in place) for both roles and checks verdicts and witnesses.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and benchmark code: a failed assumption is a failed run"
)]

use modelci_schemadiff::{Role, check};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Cases whose expected verdict this crate deliberately does not reproduce.
/// The test fails if any other case disagrees, or if a listed one agrees.
const KNOWN_DISAGREEMENTS: &[(&str, &str, &str)] = &[(
    "pattern_properties_fall_back_to_additional_properties",
    "deserializer",
    "expect.json says compatible, but its own examples.json lists old_only {\"x\":\"text\"}: valid under old, rejected by new's ^x$ integer pattern property",
)];

fn read(p: &Path) -> Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", p.display()))
}

fn validator(schema: &Value) -> Option<jsonschema::Validator> {
    jsonschema::validator_for(schema).ok()
}

#[test]
fn jsoncompat_backcompat_corpus() {
    let Some(dir) = modelci_test_support::corpus("jsoncompat/backcompat") else {
        return;
    };
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list corpus")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 60,
        "corpus looks incomplete: {} cases",
        cases.len()
    );

    let mut agree = 0usize;
    let mut total = 0usize;
    let mut problems: Vec<String> = Vec::new();
    for case in &cases {
        let name = case
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        let old = read(&case.join("old.json"));
        let new = read(&case.join("new.json"));
        let expect = read(&case.join("expect.json"));
        let examples = case.join("examples.json");
        let examples = examples.exists().then(|| read(&examples));
        let v_old = validator(&old);
        let v_new = validator(&new);
        for (role, role_name) in [
            (Role::Serializer, "serializer"),
            (Role::Deserializer, "deserializer"),
        ] {
            total += 1;
            let want = expect[role_name]
                .as_bool()
                .expect("expect.json has a boolean verdict");
            let report = match check(&old, &new, role) {
                Ok(r) => r,
                Err(e) => {
                    problems.push(format!("{name} [{role_name}]: schema error: {e}"));
                    continue;
                }
            };
            assert_eq!(
                report.compatible,
                report.findings.is_empty(),
                "{name} [{role_name}]"
            );
            let known = KNOWN_DISAGREEMENTS
                .iter()
                .any(|(c, r, _)| *c == name && *r == role_name);
            if report.compatible == want {
                agree += 1;
                if known {
                    problems.push(format!(
                        "{name} [{role_name}] is listed in KNOWN_DISAGREEMENTS but now agrees; remove it"
                    ));
                }
            } else if !known {
                let first = report
                    .findings
                    .first()
                    .map(|f| f.message.clone())
                    .unwrap_or_default();
                problems.push(format!(
                    "{name} [{role_name}]: expected compatible={want}, got {} ({first})",
                    report.compatible
                ));
            }
            // Soundness against the corpus witnesses: a value only the
            // included side accepts must make the verdict incompatible.
            let only_key = match role {
                Role::Serializer => "new_only",
                Role::Deserializer => "old_only",
            };
            if let Some(ex) = &examples {
                let n = ex[only_key].as_array().map_or(0, Vec::len);
                if n > 0 && report.compatible {
                    problems.push(format!(
                        "{name} [{role_name}]: UNSOUND: reported compatible but examples.json lists {only_key} values"
                    ));
                }
            }
            // Our witnesses must be real counterexamples per an independent validator.
            let (inc, exc) = match role {
                Role::Serializer => (&v_new, &v_old),
                Role::Deserializer => (&v_old, &v_new),
            };
            for f in &report.findings {
                if let (Some(w), Some(inc), Some(exc)) = (&f.witness, inc, exc)
                    && (!inc.is_valid(w) || exc.is_valid(w))
                {
                    problems.push(format!(
                            "{name} [{role_name}]: witness {w} for {} is not a counterexample per jsonschema",
                            f.kind.id()
                        ));
                }
                assert!(
                    f.pointer_old.starts_with('#') && f.pointer_new.starts_with('#'),
                    "{name}: {f:?}"
                );
            }
        }
    }
    eprintln!("jsoncompat corpus: {agree}/{total} verdicts agree");
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}
