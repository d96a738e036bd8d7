//! Parquet files written by pyarrow (`tests/data/make.py`): several row groups and data pages,
//! dictionary and plain encodings, nulls everywhere, binary data, a corrupt row count.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and benchmark code: a failed assumption is a failed run"
)]

use std::path::{Path, PathBuf};

use modelci_dataset::{ColumnData, read};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

const N: usize = 300;

#[test]
fn row_groups_pages_dictionaries_and_nulls() {
    let table = read(&data("multi.parquet")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(table.rows, N);
    #[expect(clippy::cast_precision_loss, reason = "small test numbers")]
    let x: Vec<Option<f64>> = (0..N)
        .map(|i| (i % 7 != 0).then_some(i as f64 * 0.5))
        .collect();
    assert_eq!(table.column("x").unwrap().data, ColumnData::Float(x));
    let cat: Vec<Option<String>> = (0..N)
        .map(|i| (i % 11 != 0).then(|| format!("c{}", i % 5)))
        .collect();
    assert_eq!(table.column("cat").unwrap().data, ColumnData::Str(cat));
    let n: Vec<Option<i64>> = (0_i64..300)
        .map(|i| (i % 3 != 0).then_some(i - 150))
        .collect();
    assert_eq!(table.column("n").unwrap().data, ColumnData::Int(n));
    let flag: Vec<Option<bool>> = (0..N).map(|i| (i % 4 != 0).then_some(i % 2 == 1)).collect();
    assert_eq!(table.column("flag").unwrap().data, ColumnData::Bool(flag));
    #[expect(clippy::cast_precision_loss, reason = "small test numbers")]
    let vec: Vec<Option<Vec<f64>>> = (0..N)
        .map(|i| (i % 9 != 0 && i % 17 != 0).then(|| vec![i as f64, (i % 10) as f64]))
        .collect();
    assert_eq!(table.column("vec").unwrap().data, ColumnData::List(vec));
}

#[test]
fn an_unannotated_binary_column_is_left_out_with_a_note() {
    // pyarrow writes `binary` columns without an annotation, like strings from some writers:
    // bytes that are not UTF-8 must not make the whole file unreadable.
    let table = read(&data("multi.parquet")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        table.column_names().collect::<Vec<_>>(),
        ["x", "cat", "n", "flag", "vec"]
    );
    assert_eq!(table.notes.len(), 1, "{:?}", table.notes);
    assert_eq!(
        table.notes[0],
        "column `blob` holds binary data (bytes that are not UTF-8 text, first at row index 0), \
         which is not supported; left out"
    );
    let e = table.column("blob").unwrap_err();
    assert!(e.to_string().contains("holds binary data"), "{e}");
}

#[test]
fn a_corrupt_row_count_does_not_abort() {
    // The footer claims 2^40 rows: sizing columns by it asked for 16 TiB and aborted.
    let table = read(&data("huge_num_rows.parquet")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        table.column("x").unwrap().data,
        ColumnData::Float(vec![Some(1.0), Some(2.0), Some(3.0)])
    );
}
