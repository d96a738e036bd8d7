//! The committed fixtures in `fixtures/datasets/`, read in every format.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and benchmark code: a failed assumption is a failed run"
)]

use std::path::PathBuf;

use modelci_dataset::{Class, ColumnData, MISSING_GROUP, Table, read};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/datasets")
        .join(name)
}

fn load(name: &str) -> Table {
    match read(&fixture(name)) {
        Ok(table) => table,
        Err(e) => panic!("{e}"),
    }
}

fn feature_names() -> Vec<String> {
    (0..20).map(|i| format!("f{i}")).collect()
}

#[test]
fn classification_is_the_same_in_every_format() {
    let csv = load("classification.csv");
    let jsonl = load("classification.jsonl");
    let parquet = load("classification.parquet");
    assert_eq!(csv.rows, 200);
    let names: Vec<&str> = csv.column_names().collect();
    let mut expected: Vec<String> = feature_names();
    expected.extend(
        [
            "label",
            "sex",
            "age_group",
            "pred",
            "proba_0",
            "proba_1",
            "proba_2",
        ]
        .iter()
        .map(|s| (*s).to_owned()),
    );
    assert_eq!(names, expected);
    for other in [&jsonl, &parquet] {
        assert_eq!(other.rows, csv.rows);
        assert_eq!(
            other.columns, csv.columns,
            "{} differs from the CSV",
            other.source
        );
        assert!(other.notes.is_empty(), "{:?}", other.notes);
    }
    assert!(csv.notes.is_empty());
    let types: Vec<&str> = csv.columns.iter().map(|c| c.data.type_name()).collect();
    assert_eq!(&types[..20], &["float"; 20]);
    assert_eq!(
        &types[20..],
        &["int", "text", "text", "int", "float", "float", "float"]
    );
    // Rows start on line 2 (after the header) in the CSV, line 1 in JSON Lines.
    assert_eq!(csv.line_of(0), Some(2));
    assert_eq!(jsonl.line_of(199), Some(200));
    assert_eq!(parquet.line_of(0), None);
}

#[test]
fn classification_helpers() {
    let table = load("classification.parquet");
    let features = table.features(&feature_names()).unwrap();
    assert_eq!(features.len(), 200 * 20);
    let ColumnData::Float(f3) = &table.column("f3").unwrap().data else {
        panic!("f3 is not a float column");
    };
    #[expect(clippy::cast_possible_truncation, reason = "the features are f32")]
    let expected = f3[7].unwrap() as f32;
    assert_eq!(features[7 * 20 + 3], expected);

    let labels = table.labels("label").unwrap();
    assert_eq!(
        labels.classes,
        vec![Class::Int(0), Class::Int(1), Class::Int(2)]
    );
    assert_eq!(labels.ids.len(), 200);
    let predicted = labels.map_column(&table, "pred").unwrap();
    assert_eq!(predicted.len(), 200);
    let agree = labels
        .ids
        .iter()
        .zip(&predicted)
        .filter(|(a, b)| a == b)
        .count();
    assert!(
        agree > 100,
        "the noisy model should mostly agree, got {agree}"
    );

    let proba = table
        .probabilities(&["proba_0", "proba_1", "proba_2"])
        .unwrap();
    assert_eq!(proba.len(), 600);
    for row in proba.chunks_exact(3) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-5);
    }
    assert_eq!(table.floats("proba_1").unwrap().len(), 200);

    let groups = table.groups(&["sex", "age_group"]).unwrap();
    assert_eq!(
        groups.names,
        [
            "sex=F, age_group=18-30",
            "sex=F, age_group=31-50",
            "sex=F, age_group=51+",
            "sex=M, age_group=18-30",
            "sex=M, age_group=31-50",
            "sex=M, age_group=51+",
        ]
    );
    assert_eq!(groups.sizes().iter().sum::<usize>(), 200);
    assert_eq!(groups.values[2], ["F", "51+"]);
    let sex = table.groups(&["sex"]).unwrap();
    assert_eq!(sex.names, ["sex=F", "sex=M"]);
}

#[test]
fn lists_are_the_same_in_jsonl_and_parquet() {
    let jsonl = load("lists.jsonl");
    let parquet = load("lists.parquet");
    assert_eq!(jsonl.rows, 6);
    assert_eq!(parquet.rows, 6);
    for name in [
        "id",
        "proba",
        "embedding",
        "count",
        "score",
        "flag",
        "group",
    ] {
        let a = jsonl.column(name).unwrap();
        let b = parquet.column(name).unwrap();
        assert_eq!(a.data, b.data, "column {name}");
    }
    assert_eq!(
        parquet.column("proba").unwrap().data,
        ColumnData::List(vec![
            Some(vec![0.1, 0.9]),
            None,
            Some(vec![0.25, 0.75]),
            Some(vec![]),
            None,
            Some(vec![1.0, 0.0]),
        ])
    );
    assert_eq!(
        parquet.column("count").unwrap().data,
        ColumnData::Int(vec![Some(1), None, Some(3), Some(4), Some(5), Some(6)])
    );
    assert_eq!(
        parquet.column("flag").unwrap().data,
        ColumnData::Bool(vec![
            Some(true),
            Some(false),
            None,
            Some(true),
            Some(false),
            Some(true)
        ])
    );
}

#[test]
fn parquet_converts_or_leaves_out_other_types() {
    let table = load("lists.parquet");
    assert_eq!(
        table.column("big").unwrap().data,
        ColumnData::Int(vec![
            Some(0),
            Some(1),
            Some(2),
            Some(3),
            Some(4),
            Some(4_294_967_295)
        ])
    );
    assert_eq!(
        table.column("price").unwrap().data,
        ColumnData::Float(vec![
            Some(1.25),
            None,
            Some(0.5),
            Some(2.0),
            Some(-3.75),
            Some(0.0)
        ])
    );
    assert_eq!(table.notes.len(), 2, "{:?}", table.notes);
    let err = table.column("meta").unwrap_err().to_string();
    assert!(err.contains("no column named `meta`"), "{err}");
    assert!(err.contains("nested struct"), "{err}");
    let err = table.column("when").unwrap_err().to_string();
    assert!(err.contains("INT96"), "{err}");
}

#[test]
fn list_columns_as_features_and_probabilities() {
    let table = load("lists.parquet");
    let features = table.features(&["embedding", "id"]).unwrap();
    assert_eq!(features.len(), 6 * 4);
    assert_eq!(&features[4..8], &[4.0, 5.0, 6.0, 1.0]);
    let err = table.probabilities(&["proba"]).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}: column `proba`: missing value (row index 1)",
            table.source
        )
    );
    let groups = table.groups(&["group"]).unwrap();
    assert_eq!(
        groups.names,
        [
            "group=a",
            "group=b",
            format!("group={MISSING_GROUP}").as_str()
        ]
    );
    assert_eq!(groups.ids, [0, 1, 0, 2, 1, 0]);
    let jsonl = load("lists.jsonl");
    let err = jsonl.features(&["count"]).unwrap_err();
    assert_eq!(err.line, Some(2));
    assert_eq!(err.column.as_deref(), Some("count"));
    assert!(
        err.to_string()
            .ends_with("lists.jsonl:2: column `count`: missing value (row index 1)")
    );
}
