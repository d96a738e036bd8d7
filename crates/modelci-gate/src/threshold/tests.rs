use super::*;

fn t(json: &str) -> MetricThreshold {
    let t: MetricThreshold = serde_json::from_str(json).expect("threshold");
    t.check().expect("valid");
    t
}

fn ev(candidate: f64, baseline: Option<f64>) -> Evidence {
    Evidence {
        candidate: Some(candidate),
        baseline,
        has_baseline: baseline.is_some(),
        comparison: None,
    }
}

#[test]
fn value_thresholds_follow_the_direction() {
    let acc = t(r#"{"threshold": 0.8, "greater_is_better": true}"#);
    assert_eq!(
        judge("accuracy_score", &acc, &ev(0.8, None)).verdict,
        Verdict::Passed
    );
    let j = judge("accuracy_score", &acc, &ev(0.79, None));
    assert_eq!(j.verdict, Verdict::Failed);
    assert_eq!(j.message, "candidate accuracy_score = 0.79 < threshold 0.8");
    let loss = t(r#"{"threshold": 0.5, "higher_is_better": false}"#);
    assert_eq!(
        judge("log_loss", &loss, &ev(0.4, None)).verdict,
        Verdict::Passed
    );
    assert_eq!(
        judge("log_loss", &loss, &ev(0.6, None)).verdict,
        Verdict::Failed
    );
}

#[test]
fn mlflow_change_thresholds_demand_an_improvement() {
    let abs = t(r#"{"min_absolute_change": 0.01, "greater_is_better": true}"#);
    assert_eq!(
        judge("m", &abs, &ev(0.91, Some(0.9))).verdict,
        Verdict::Passed
    );
    assert_eq!(
        judge("m", &abs, &ev(0.905, Some(0.9))).verdict,
        Verdict::Failed
    );
    let rel = t(r#"{"min_relative_change": 0.1, "greater_is_better": false}"#);
    // Lower is better: (baseline - candidate) / baseline >= 0.1.
    assert_eq!(
        judge("mae", &rel, &ev(0.85, Some(1.0))).verdict,
        Verdict::Passed
    );
    assert_eq!(
        judge("mae", &rel, &ev(0.95, Some(1.0))).verdict,
        Verdict::Failed
    );
    // A zero baseline falls back to "better by 1e-10", as in MLflow.
    let rel_up = t(r#"{"min_relative_change": 0.5, "greater_is_better": true}"#);
    assert_eq!(
        judge("m", &rel_up, &ev(0.0, Some(0.0))).verdict,
        Verdict::Failed
    );
    assert_eq!(
        judge("m", &rel_up, &ev(0.001, Some(0.0))).verdict,
        Verdict::Passed
    );
}

#[test]
fn degradation_bounds_allow_a_worse_candidate_within_a_margin() {
    let ni = t(r#"{"max_absolute_degradation": 0.02, "greater_is_better": true}"#);
    assert_eq!(
        judge("acc", &ni, &ev(0.89, Some(0.9))).verdict,
        Verdict::Passed
    );
    let j = judge("acc", &ni, &ev(0.87, Some(0.9)));
    assert_eq!(j.verdict, Verdict::Failed);
    assert!(
        j.message.contains("misses max_absolute_degradation 0.02"),
        "{}",
        j.message
    );
    let rel = t(r#"{"max_relative_degradation": 0.1, "greater_is_better": false}"#);
    assert_eq!(
        judge("rmse", &rel, &ev(1.09, Some(1.0))).verdict,
        Verdict::Passed
    );
    assert_eq!(
        judge("rmse", &rel, &ev(1.11, Some(1.0))).verdict,
        Verdict::Failed
    );
}

#[test]
fn missing_metrics_and_baselines_fail_closed() {
    let ni =
        t(r#"{"threshold": 0.5, "max_absolute_degradation": 0.02, "greater_is_better": true}"#);
    let j = judge("roc_auc", &ni, &Evidence::default());
    assert_eq!(j.verdict, Verdict::Errored);
    assert!(
        j.message.contains("was not computed for the candidate"),
        "{}",
        j.message
    );
    let j = judge("roc_auc", &ni, &ev(0.9, None));
    assert_eq!(j.verdict, Verdict::Errored);
    assert!(j.message.contains("there is no baseline"), "{}", j.message);
    let mut e = ev(0.9, None);
    e.has_baseline = true;
    let j = judge("roc_auc", &ni, &e);
    assert!(
        j.message.contains("missing from the baseline"),
        "{}",
        j.message
    );
    let j = judge("roc_auc", &ni, &ev(f64::NAN, Some(0.9)));
    assert_eq!(j.verdict, Verdict::Errored);
}

#[test]
fn statistics_fail_only_when_worse_with_confidence() {
    let ni =
        t(r#"{"max_absolute_degradation": 0.01, "greater_is_better": true, "confidence": 0.95}"#);
    let mut e = ev(0.88, Some(0.9));
    // Point estimate 0.02 worse, but the interval reaches the bound: a warning, not a failure.
    e.comparison = Some(Comparison {
        delta_ci: Some((-0.05, 0.01)),
        mcnemar: None,
        too_small: None,
    });
    let j = judge("acc", &ni, &e);
    assert_eq!(j.verdict, Verdict::Passed, "{j:#?}");
    assert_eq!(j.warnings.len(), 1);
    assert!(
        j.warnings[0].contains("not with 95% confidence"),
        "{:?}",
        j.warnings
    );
    // The whole interval is below -0.01: worse with confidence.
    e.comparison = Some(Comparison {
        delta_ci: Some((-0.04, -0.015)),
        mcnemar: None,
        too_small: Some("40 rows".into()),
    });
    let j = judge("acc", &ni, &e);
    assert_eq!(j.verdict, Verdict::Failed);
    assert!(
        j.message.contains("entirely below the bound"),
        "{}",
        j.message
    );
    assert!(j.warnings.iter().any(|w| w.contains("too small")));

    let mc: MetricThreshold = serde_json::from_str(
        r#"{"max_absolute_degradation": 0.0, "greater_is_better": true, "confidence": 0.95, "test": "mcnemar"}"#,
    )
    .expect("t");
    e.comparison = Some(Comparison {
        delta_ci: None,
        mcnemar: Some((0.2, true)),
        too_small: None,
    });
    assert_eq!(judge("accuracy_score", &mc, &e).verdict, Verdict::Passed);
    e.comparison = Some(Comparison {
        delta_ci: None,
        mcnemar: Some((0.01, true)),
        too_small: None,
    });
    assert_eq!(judge("accuracy_score", &mc, &e).verdict, Verdict::Failed);
}

#[test]
fn invalid_thresholds_say_what_is_wrong() {
    let bad = |json: &str| {
        serde_json::from_str::<MetricThreshold>(json)
            .map_err(|e| e.to_string())
            .and_then(|t| t.check())
            .expect_err("invalid")
    };
    assert!(bad(r#"{"threshold": 0.8}"#).contains("`greater_is_better` must be given"));
    assert!(bad(r#"{"greater_is_better": true}"#).contains("no threshold was given"));
    assert!(
        bad(r#"{"min_relative_change": 2, "greater_is_better": true}"#).contains("between 0 and 1")
    );
    assert!(bad(r#"{"min_absolute_change": -1, "greater_is_better": true}"#).contains("positive"));
    assert!(
        bad(r#"{"threshold": 1, "greater_is_better": true, "confidence": 0.9}"#)
            .contains("apply to comparisons")
    );
    assert!(
        bad(r#"{"treshold": 1, "greater_is_better": true}"#).contains("unknown field `treshold`")
    );
}

#[test]
fn version_tags_override_model_tags_which_override_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("thresholds.toml");
    std::fs::write(
        &file,
        "[accuracy_score]\nthreshold = 0.7\ngreater_is_better = true\n\n[log_loss]\nthreshold = 0.6\ngreater_is_better = false\n",
    )
    .expect("w");
    let from_file = read_file(&file).expect("file");
    let model_tags: BTreeMap<String, String> = [(
        TAG_ALL.to_owned(),
        r#"{"accuracy_score": {"threshold": 0.8, "greater_is_better": true}, "f1_score": {"threshold": 0.5, "greater_is_better": true}}"#.to_owned(),
    ), (
        "modelci.threshold.f1_score".to_owned(),
        r#"{"threshold": 0.55, "greater_is_better": true}"#.to_owned(),
    )]
    .into();
    let version_tags: BTreeMap<String, String> = [(
        "modelci.threshold.accuracy_score".to_owned(),
        r#"{"threshold": 0.85, "greater_is_better": true}"#.to_owned(),
    )]
    .into();
    let (model, errors) = from_tags(&model_tags, |tag| Source::ModelTag {
        model: "clf".into(),
        tag: tag.into(),
    });
    assert!(errors.is_empty());
    let (version, _) = from_tags(&version_tags, |tag| Source::VersionTag {
        model: "clf".into(),
        version: "3".into(),
        tag: tag.into(),
    });
    let resolved = resolve(vec![from_file, model, version]);
    let by = |m: &str| resolved.iter().find(|r| r.metric == m).expect(m);
    assert_eq!(by("accuracy_score").threshold.threshold, Some(0.85));
    assert_eq!(
        by("accuracy_score").explain(),
        format!(
            "accuracy_score: >= 0.85 (higher is better) (from model `clf` version 3 tag `modelci.threshold.accuracy_score`); overrides registered model `clf` tag `modelci.thresholds`, file {}",
            file.display()
        )
    );
    assert_eq!(
        by("f1_score").threshold.threshold,
        Some(0.55),
        "the per-metric tag wins"
    );
    assert_eq!(
        by("log_loss").source,
        Source::File(file.display().to_string())
    );
}

#[test]
fn malformed_tags_are_named() {
    let tags: BTreeMap<String, String> = [
        (TAG_ALL.to_owned(), "{not json".to_owned()),
        (
            "modelci.threshold.recall_score".to_owned(),
            r#"{"threshold": 0.5}"#.to_owned(),
        ),
    ]
    .into();
    let (layer, errors) = from_tags(&tags, |tag| Source::ModelTag {
        model: "clf".into(),
        tag: tag.into(),
    });
    assert!(layer.is_empty());
    assert_eq!(errors.len(), 2);
    assert!(
        errors[0]
            .to_string()
            .starts_with("registered model `clf` tag `modelci.thresholds`: not a JSON object"),
        "{}",
        errors[0]
    );
    assert_eq!(
        errors[1].to_string(),
        "registered model `clf` tag `modelci.threshold.recall_score`: `greater_is_better` must be given (true or false)"
    );
}
