use std::fs;

use crate::{modelci, run};

#[test]
fn annotations_summary_and_outputs_in_github_actions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = dir.path().join("summary.md");
    let outputs = dir.path().join("outputs.txt");
    fs::write(&outputs, "earlier=1\n").expect("w");
    let (code, stdout, stderr) =
        run(
            modelci(&["check", "--config", "examples/failing/modelci.toml"])
                .env("GITHUB_ACTIONS", "true")
                .env("GITHUB_STEP_SUMMARY", &summary)
                .env("GITHUB_OUTPUT", &outputs),
        );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let annotations: Vec<&str> = stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 4, "{stdout}");
    assert!(annotations.contains(&
        "::error file=examples/failing/recorded/predictions.jsonl,line=2,col=86,title=prediction-log › recorded/predictions.jsonl%3A2 failed::/body/confidence: 1.7 is greater than the maximum of 1%0Aexpected: maximum: 1%0Aactual: 1.7"
    ), "{annotations:#?}");
    assert_eq!(
        fs::read_to_string(&outputs).expect("outputs"),
        "earlier=1\nverdict=fail\ntotal=6\npassed=2\nfailed=4\nerrored=0\nskipped=0\n"
    );
    let md = fs::read_to_string(&summary).expect("summary");
    assert!(md.starts_with("## ❌ modelci: failed"), "{md}");
    assert!(
        md.contains("| ❌ | prediction-log | json-schema | 1 | 2 | 0 | 0 |"),
        "{md}"
    );
}

#[test]
fn config_errors_are_annotated_at_their_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("modelci.toml");
    fs::write(&path, "[project]\nnmae = \"x\"\n").expect("w");
    let (code, stdout, _) = run(
        modelci(&["check", "--config", path.to_str().expect("utf8")]).env("GITHUB_ACTIONS", "true"),
    );
    assert_eq!(code, 2);
    assert!(stdout.starts_with("::error file="), "{stdout}");
    assert!(stdout.contains(",line=2,col=1,title=modelci::"), "{stdout}");
}

#[test]
fn annotation_paths_are_relative_to_the_workspace() {
    let (_, stdout, _) = run(modelci(&["check", "--config", "modelci.toml"])
        .current_dir(crate::root().join("examples/failing"))
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_WORKSPACE", crate::root()));
    assert!(
        stdout.contains("::error file=examples/failing/recorded/infer-no-outputs.json,line=4,"),
        "{stdout}"
    );
}
