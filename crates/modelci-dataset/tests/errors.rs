//! Malformed and awkward inputs, written to a temporary directory: each gives a clear error
//! (or a clear reading), never a panic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and benchmark code: a failed assumption is a failed run"
)]

use std::path::{Path, PathBuf};

use modelci_dataset::{Class, ColumnData, DataError, Table, read};
use tempfile::TempDir;

fn write(dir: &TempDir, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn read_ok(path: &Path) -> Table {
    read(path).unwrap_or_else(|e| panic!("{e}"))
}

fn read_err(path: &Path) -> DataError {
    match read(path) {
        Ok(table) => panic!("expected an error, read {table:?}"),
        Err(e) => e,
    }
}

/// The error's text after the file name.
fn rest(e: &DataError) -> String {
    e.to_string()[e.file.len()..].to_owned()
}

#[test]
fn csv_row_with_wrong_field_count_names_its_line() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "bad.csv", b"a,b,c\n1,2,3\n4,5\n6,7,8\n");
    let e = read_err(&path);
    assert_eq!(e.line, Some(3));
    assert_eq!(rest(&e), ":3: this row has 2 fields, but the header has 3");
    assert_eq!(e.file, path.display().to_string());
}

#[test]
fn csv_not_utf8_names_its_line() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "latin1.csv", b"name,x\nok,1\ncaf\xe9,2\n");
    let e = read_err(&path);
    assert_eq!(e.line, Some(3));
    assert!(
        rest(&e).starts_with(":3: field 1 is not valid UTF-8"),
        "{e}"
    );
    let path = write(&dir, "latin1_header.csv", b"caf\xe9,x\n1,2\n");
    assert_eq!(read_err(&path).line, Some(1));
}

#[test]
fn csv_empty_or_without_rows() {
    let dir = TempDir::new().unwrap();
    let e = read_err(&write(&dir, "empty.csv", b""));
    assert_eq!(
        rest(&e),
        ":1: the file is empty: a header row naming the columns is required"
    );
    let e = read_err(&write(&dir, "header.csv", b"a,b\n"));
    assert_eq!(rest(&e), ": the file has a header but no data rows");
}

#[test]
fn csv_header_problems() {
    let dir = TempDir::new().unwrap();
    let e = read_err(&write(&dir, "dup.csv", b"a,b,a\n1,2,3\n"));
    assert_eq!(
        rest(&e),
        ":1: column `a`: the header names this column twice"
    );
    let e = read_err(&write(&dir, "noheader.csv", b"0.5,1.25\n0.1,0.2\n"));
    assert!(
        rest(&e).starts_with(":1: the first row looks like data"),
        "{e}"
    );
    // Integer column names (pandas' default names) are a header.
    let table = read_ok(&write(&dir, "intnames.csv", b"0,1\n0.1,0.2\n"));
    assert_eq!(table.column_names().collect::<Vec<_>>(), ["0", "1"]);
}

#[test]
fn csv_values_quotes_bom_and_inference() {
    let dir = TempDir::new().unwrap();
    let content = "\u{feff},name,score,n,flag,mixed,empty\n\
                   0,\"Smith, J\",1.5,1,True,1,\n\
                   1,\"two\nlines\",,2,false,x,\n\
                   2,\"say \"\"hi\"\"\",2,3,FALSE,2.5,\n";
    let table = read_ok(&write(&dir, "odd.csv", content.as_bytes()));
    assert_eq!(table.rows, 3);
    assert_eq!(
        table.column_names().collect::<Vec<_>>(),
        ["Unnamed: 0", "name", "score", "n", "flag", "mixed", "empty"]
    );
    assert_eq!(
        table.column("name").unwrap().data,
        ColumnData::Str(vec![
            Some("Smith, J".into()),
            Some("two\nlines".into()),
            Some("say \"hi\"".into())
        ])
    );
    assert_eq!(
        table.column("score").unwrap().data,
        ColumnData::Float(vec![Some(1.5), None, Some(2.0)])
    );
    assert_eq!(
        table.column("n").unwrap().data,
        ColumnData::Int(vec![Some(1), Some(2), Some(3)])
    );
    assert_eq!(
        table.column("flag").unwrap().data,
        ColumnData::Bool(vec![Some(true), Some(false), Some(false)])
    );
    let mixed = table.column("mixed").unwrap();
    assert_eq!(
        mixed.data,
        ColumnData::Str(vec![Some("1".into()), Some("x".into()), Some("2.5".into())])
    );
    assert_eq!(
        mixed.note.as_deref(),
        Some("mixes integer and text values (first text value `x` at line 3); read as text")
    );
    assert_eq!(
        table.column("empty").unwrap().data,
        ColumnData::Float(vec![None, None, None])
    );
    // A quoted field spanning lines: the next row starts on line 5.
    assert_eq!(table.row_lines, [2, 3, 5]);
    let e = table.features(&["score"]).unwrap_err();
    assert_eq!(rest(&e), ":3: column `score`: missing value (row index 1)");
    let e = table.features(&["n", "mixed"]).unwrap_err();
    assert_eq!(
        rest(&e),
        ": column `mixed`: holds text, so it cannot be used as a model feature (mixes integer \
         and text values (first text value `x` at line 3); read as text)"
    );
}

#[test]
fn csv_missing_markers_are_text_with_a_hint() {
    let dir = TempDir::new().unwrap();
    let table = read_ok(&write(&dir, "r.csv", b"x\n1.5\nNA\n"));
    let x = table.column("x").unwrap();
    assert_eq!(
        x.data,
        ColumnData::Str(vec![Some("1.5".into()), Some("NA".into())])
    );
    assert_eq!(
        x.note.as_deref(),
        Some(
            "mixes float and text values (first text value `NA` at line 3); read as text (an \
             empty field is a missing value; this marker is not)"
        )
    );
}

#[test]
fn tsv_is_tab_separated() {
    let dir = TempDir::new().unwrap();
    let table = read_ok(&write(&dir, "t.TSV", b"a\tb\n1\tx y\n"));
    assert_eq!(
        table.column("b").unwrap().data,
        ColumnData::Str(vec![Some("x y".into())])
    );
}

#[test]
fn jsonl_line_that_is_not_an_object() {
    let dir = TempDir::new().unwrap();
    let e = read_err(&write(&dir, "a.jsonl", b"{\"a\": 1}\n\n[1, 2]\n"));
    assert_eq!(
        rest(&e),
        ":3: expected a JSON object on each line, found an array"
    );
}

#[test]
fn jsonl_invalid_json_names_line_and_column() {
    let dir = TempDir::new().unwrap();
    let e = read_err(&write(&dir, "b.ndjson", b"{\"a\": 1}\n{\"a\": 2,}\n"));
    assert_eq!(e.line, Some(2));
    assert!(
        rest(&e).starts_with(":2: invalid JSON at column 9: "),
        "{e}"
    );
    let e = read_err(&write(&dir, "nan.jsonl", b"{\"a\": NaN}\n"));
    assert!(rest(&e).contains("JSON has no NaN or Infinity"), "{e}");
}

#[test]
fn jsonl_not_utf8_and_empty() {
    let dir = TempDir::new().unwrap();
    let e = read_err(&write(
        &dir,
        "c.jsonl",
        b"{\"a\": \"x\"}\n{\"a\": \"\xff\"}\n",
    ));
    assert_eq!(e.line, Some(2));
    assert!(
        rest(&e).starts_with(":2: the line is not valid UTF-8"),
        "{e}"
    );
    let e = read_err(&write(&dir, "d.jsonl", b"\n  \n"));
    assert_eq!(rest(&e), ": the file has no JSON objects (no rows)");
}

#[test]
fn jsonl_keys_types_and_missing() {
    let dir = TempDir::new().unwrap();
    let content = b"{\"a\": 1, \"b\": \"x\"}\n\
                    {\"b\": \"y\", \"a\": 2.5, \"c\": true}\n\
                    {\"a\": null, \"d\": {\"k\": 1}, \"e\": [1, 2]}\n\
                    {\"a\": 3, \"e\": 4}\n";
    let table = read_ok(&write(&dir, "e.jsonl", content));
    assert_eq!(
        table.column_names().collect::<Vec<_>>(),
        ["a", "b", "c", "d", "e"]
    );
    assert_eq!(
        table.column("a").unwrap().data,
        ColumnData::Float(vec![Some(1.0), Some(2.5), None, Some(3.0)])
    );
    assert_eq!(
        table.column("c").unwrap().data,
        ColumnData::Bool(vec![None, Some(true), None, None])
    );
    let d = table.column("d").unwrap();
    assert_eq!(
        d.data,
        ColumnData::Str(vec![None, None, Some("{\"k\":1}".into()), None])
    );
    assert!(d.note.as_deref().unwrap().contains("first at line 3"));
    let e = table.column("e").unwrap();
    assert_eq!(
        e.data,
        ColumnData::Str(vec![None, None, Some("[1, 2]".into()), Some("4".into())])
    );
    assert_eq!(
        e.note.as_deref(),
        Some("mixes list and integer values (first integer value at line 4); read as text")
    );
}

#[test]
fn unknown_extension_missing_file_and_directory() {
    let dir = TempDir::new().unwrap();
    let e = read_err(&write(&dir, "data.xlsx", b""));
    assert!(rest(&e).starts_with(": unknown dataset format"), "{e}");
    let e = read_err(&dir.path().join("absent.csv"));
    assert!(
        rest(&e).starts_with(": failed to open the dataset: "),
        "{e}"
    );
    let sub = dir.path().join("folder.csv");
    std::fs::create_dir(&sub).unwrap();
    assert!(read(&sub).is_err());
}

#[test]
fn parquet_garbage_and_truncated_files() {
    let dir = TempDir::new().unwrap();
    let e = read_err(&write(&dir, "g.parquet", b"PAR1 this is not parquet"));
    assert!(rest(&e).starts_with(": not a readable Parquet file"), "{e}");
    let good = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/datasets/classification.parquet"),
    )
    .unwrap();
    // Cut off the end (the footer), then corrupt the middle (the pages).
    let e = read_err(&write(&dir, "cut.parquet", &good[..good.len() / 2]));
    assert!(rest(&e).starts_with(": not a readable Parquet file"), "{e}");
    let mut corrupt = good.clone();
    let (from, to) = (100, corrupt.len() / 2);
    for (i, byte) in corrupt[from..to].iter_mut().enumerate() {
        *byte ^= u8::try_from(i % 251).unwrap() | 1;
    }
    let _ = read(&write(&dir, "corrupt.parquet", &corrupt));
}

fn classification_like() -> Table {
    let column = |name: &str, data| modelci_dataset::Column::new(name, data);
    Table::new(
        "mem",
        vec![
            column(
                "label",
                ColumnData::Str(vec![
                    Some("dog".into()),
                    Some("cat".into()),
                    Some("dog".into()),
                ]),
            ),
            column(
                "pred",
                ColumnData::Str(vec![
                    Some("cat".into()),
                    Some("cat".into()),
                    Some("emu".into()),
                ]),
            ),
            column(
                "y",
                ColumnData::Float(vec![Some(1.0), Some(0.5), Some(f64::NAN)]),
            ),
            column(
                "k",
                ColumnData::Float(vec![Some(2.0), Some(0.0), Some(2.0)]),
            ),
            column(
                "flag",
                ColumnData::Bool(vec![Some(true), None, Some(false)]),
            ),
            column(
                "p",
                ColumnData::List(vec![
                    Some(vec![0.1, 0.9]),
                    Some(vec![0.5, 0.5]),
                    Some(vec![1.0]),
                ]),
            ),
        ],
    )
    .unwrap()
}

#[test]
fn column_lookup_suggests_the_closest_name() {
    let table = classification_like();
    let e = table.column("lable").unwrap_err();
    assert_eq!(
        e.to_string(),
        "mem: no column named `lable`; did you mean `label`? (available: `label`, `pred`, `y`, \
         `k`, `flag`, `p`)"
    );
    let e = table.column("LABEL").unwrap_err();
    assert!(e.to_string().contains("did you mean `label`?"));
    let e = table.column("zzzzzz").unwrap_err();
    assert!(!e.to_string().contains("did you mean"));
}

#[test]
fn labels_classes_and_predictions() {
    let table = classification_like();
    let labels = table.labels("label").unwrap();
    assert_eq!(
        labels.classes,
        [Class::Str("cat".into()), Class::Str("dog".into())]
    );
    assert_eq!(labels.ids, [1, 0, 1]);
    assert_eq!(labels.index_of(&Class::Str("dog".into())), Some(1));
    let e = labels.map_column(&table, "pred").unwrap_err();
    assert_eq!(
        e.to_string(),
        "mem: column `pred`: `emu` is not one of the classes of label column `label` (`cat`, \
         `dog`) (row index 2)"
    );
    // Whole-number floats are integer classes, sorted numerically.
    let k = table.labels("k").unwrap();
    assert_eq!(k.classes, [Class::Int(0), Class::Int(2)]);
    let e = table.labels("y").unwrap_err();
    assert!(e.to_string().contains("`0.5` is not a whole number"), "{e}");
    let e = table.labels("flag").unwrap_err();
    assert_eq!(
        e.to_string(),
        "mem: column `flag`: missing class label (row index 1)"
    );
    assert!(table.labels("p").is_err());
}

#[test]
fn numeric_classes_sort_numerically_and_match_text() {
    let column = |name: &str, data| modelci_dataset::Column::new(name, data);
    let table = Table::new(
        "mem",
        vec![
            column(
                "y",
                ColumnData::Int(vec![Some(10), Some(9), Some(-1), Some(10)]),
            ),
            column(
                "t",
                ColumnData::Str(vec![
                    Some("10".into()),
                    Some("9".into()),
                    Some("-1".into()),
                    Some("9".into()),
                ]),
            ),
        ],
    )
    .unwrap();
    let labels = table.labels("y").unwrap();
    assert_eq!(
        labels.classes,
        [Class::Int(-1), Class::Int(9), Class::Int(10)]
    );
    assert_eq!(labels.map_column(&table, "t").unwrap(), [2, 1, 0, 1]);
    // Text classes sort lexicographically, like np.unique.
    let text = table.labels("t").unwrap();
    assert_eq!(
        text.classes,
        [
            Class::Str("-1".into()),
            Class::Str("10".into()),
            Class::Str("9".into())
        ]
    );
}

#[test]
fn floats_and_probabilities_refuse_nan_missing_and_ragged_lists() {
    let table = classification_like();
    let e = table.floats("y").unwrap_err();
    assert_eq!(
        e.to_string(),
        "mem: column `y`: the value is NaN (row index 2)"
    );
    assert_eq!(
        table.floats("flag").unwrap_err().to_string(),
        "mem: column `flag`: missing value (row index 1)"
    );
    assert!(
        table
            .floats("label")
            .unwrap_err()
            .to_string()
            .contains("holds text")
    );
    // NaN features pass through: some models handle them.
    assert!(table.features(&["y"]).unwrap()[2].is_nan());
    let e = table.probabilities(&["p"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "mem: column `p`: the list has 1 values, but earlier rows have 2 (row index 2)"
    );
    assert!(table.probabilities(&["k", "p"]).is_err());
    assert_eq!(
        table.probabilities(&["k", "k"]).unwrap(),
        [2.0, 2.0, 0.0, 0.0, 2.0, 2.0]
    );
    assert!(table.probabilities::<&str>(&[]).is_err());
    assert!(table.features::<&str>(&[]).is_err());
    assert!(table.groups::<&str>(&[]).is_err());
}

#[test]
fn groups_with_missing_values_and_floats() {
    let table = classification_like();
    let groups = table.groups(&["flag", "k"]).unwrap();
    assert_eq!(
        groups.names,
        ["flag=false, k=2", "flag=true, k=2", "flag=<missing>, k=0"]
    );
    assert_eq!(groups.ids, [1, 2, 0]);
    assert!(table.groups(&["p"]).is_err());
}

#[test]
fn table_new_checks_its_columns() {
    let column = |name: &str, data| modelci_dataset::Column::new(name, data);
    assert!(Table::new("mem", vec![]).is_err());
    let e = Table::new("mem", vec![column("a", ColumnData::Int(vec![]))]).unwrap_err();
    assert_eq!(e.to_string(), "mem: the dataset has no rows");
    let e = Table::new(
        "mem",
        vec![
            column("a", ColumnData::Int(vec![Some(1)])),
            column("b", ColumnData::Int(vec![])),
        ],
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "mem: column `b`: has 0 values, but column `a` has 1"
    );
}

#[test]
fn csv_lines_count_crlf_cr_and_blank_lines() {
    // The csv crate's own line count is off by one per CRLF line ending and per blank line
    // skipped, and counts no lone-CR line at all.
    let dir = TempDir::new().unwrap();
    for (name, content, lines) in [
        ("lf.csv", &b"a,b\n1,2\n\n\n3,4\n"[..], [2, 5]),
        ("crlf.csv", b"a,b\r\n1,2\r\n3,4\r\n", [2, 3]),
        ("crlf_blank.csv", b"a,b\r\n1,2\r\n\r\n3,4", [2, 4]),
        ("cr.csv", b"a,b\r1,2\r3,4\r", [2, 3]),
        (
            "bom_quoted.csv",
            b"\xef\xbb\xbfa,b\r\n1,\"x,\r\ny\"\r\n2,z",
            [2, 4],
        ),
        ("blank_first.csv", b"\n\na,b\n1,2\n3,4", [4, 5]),
    ] {
        let table = read_ok(&write(&dir, name, content));
        assert_eq!(table.row_lines, lines, "{name}");
    }
    for (name, content, line) in [
        ("short_crlf.csv", &b"a,b\r\n1,2\r\n3\r\n"[..], 3),
        ("short_blank.csv", b"a,b\n1,2\n\n\n3\n", 5),
        ("short_cr.csv", b"a,b\r1,2\r3\r", 3),
        ("latin1_crlf.csv", b"a,b\r\n1,2\r\n\r\n3,\xff\r\n", 4),
    ] {
        assert_eq!(
            read_err(&write(&dir, name, content)).line,
            Some(line),
            "{name}"
        );
    }
    let table = read_ok(&write(&dir, "note.csv", b"x\r\n1\r\n\r\nabc\r\n"));
    assert_eq!(
        table.column("x").unwrap().note.as_deref(),
        Some("mixes integer and text values (first text value `abc` at line 4); read as text")
    );
    let e = read_err(&write(&dir, "dup_crlf.csv", b"\r\na,a\r\n1,2\r\n"));
    assert_eq!(e.line, Some(2));
}

#[test]
fn jsonl_numbers_beyond_f64_are_infinities_and_minus_zero_is_zero() {
    let dir = TempDir::new().unwrap();
    let path = write(
        &dir,
        "big.jsonl",
        br#"{"a": 1e400, "b": -0, "c": [1, -1E+400], "d": {"x": 1e999}, "e": [1e400, null], "a": -1e400}
{"a": 2, "b": 0, "c": [0.5, 1], "d": null, "e": [1, 2]}
"#,
    );
    let table = read_ok(&path);
    assert_eq!(
        table.column_names().collect::<Vec<_>>(),
        ["a", "b", "c", "d", "e"]
    );
    // A repeated key keeps its place and its last value, as without such numbers.
    assert_eq!(
        table.column("a").unwrap().data,
        ColumnData::Float(vec![Some(f64::NEG_INFINITY), Some(2.0)])
    );
    assert_eq!(
        table.column("c").unwrap().data,
        ColumnData::List(vec![
            Some(vec![1.0, f64::NEG_INFINITY]),
            Some(vec![0.5, 1.0])
        ])
    );
    assert_eq!(
        table.column("d").unwrap().data,
        ColumnData::Str(vec![Some(r#"{"x": 1e999}"#.into()), None])
    );
    assert_eq!(
        table.column("e").unwrap().data,
        ColumnData::List(vec![None, Some(vec![1.0, 2.0])])
    );
    // `-0` and `0` are one group.
    let groups = table.groups(&["b"]).unwrap();
    assert_eq!(groups.names, ["b=0"]);
    assert_eq!(groups.ids, [0, 0]);
    // Infinities are no target.
    let e = table.floats("a").unwrap_err();
    assert_eq!(
        rest(&e),
        ":1: column `a`: the value is infinite (row index 0)"
    );
    let e = table.probabilities(&["c"]).unwrap_err();
    assert_eq!(
        rest(&e),
        ":1: column `c`: the list holds an infinite value (row index 0)"
    );
    assert!(
        table.features(&["a", "c"]).is_ok(),
        "features may be infinite"
    );
    // Out of range where no object is: still an error.
    let e = read_err(&write(&dir, "array.jsonl", b"[1e400]\n"));
    assert_eq!(e.line, Some(1));
    assert!(rest(&e).contains("number out of range"), "{e}");
}

#[test]
fn float_groups_merge_signed_zeros_and_nans() {
    let dir = TempDir::new().unwrap();
    let table = read_ok(&write(
        &dir,
        "g.csv",
        b"g,y\n-0.0,1\n0.0,0\n0.5,1\nNaN,0\n-NaN,1\n",
    ));
    let groups = table.groups(&["g"]).unwrap();
    assert_eq!(groups.names, ["g=0", "g=0.5", "g=NaN"]);
    assert_eq!(groups.ids, [0, 0, 1, 2, 2]);
    assert_eq!(groups.sizes(), [2, 1, 2]);
}
