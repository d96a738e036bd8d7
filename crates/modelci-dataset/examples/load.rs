//! Loads datasets and prints their shape and load time: a quick manual benchmark.
//!
//! `cargo run --release -p modelci-dataset --example load -- FILE...`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and benchmark code: a failed assumption is a failed run"
)]

use std::path::Path;
use std::time::Instant;

fn main() {
    for arg in std::env::args().skip(1) {
        let start = Instant::now();
        match modelci_dataset::read(Path::new(&arg)) {
            Ok(table) => {
                let took = start.elapsed();
                let types: Vec<&str> = table.columns.iter().map(|c| c.data.type_name()).collect();
                println!(
                    "{arg}: {} rows x {} columns in {:.3} s ({})",
                    table.rows,
                    table.columns.len(),
                    took.as_secs_f64(),
                    types.join(",")
                );
                let numeric: Vec<&str> = table
                    .columns
                    .iter()
                    .filter(|c| matches!(c.data.type_name(), "float" | "int" | "bool"))
                    .map(|c| c.name.as_str())
                    .collect();
                if !numeric.is_empty() {
                    let start = Instant::now();
                    match table.features(&numeric) {
                        Ok(f) => println!(
                            "  features(): {} values in {:.3} s",
                            f.len(),
                            start.elapsed().as_secs_f64()
                        ),
                        Err(e) => println!("  features(): {e}"),
                    }
                }
                for note in &table.notes {
                    println!("  note: {note}");
                }
            }
            Err(e) => println!("error: {e}"),
        }
    }
}
