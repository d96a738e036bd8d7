//! OpenAPI and JSON Schema contracts: loading (OpenAPI 3.0/3.1 in YAML or JSON, bare JSON
//! Schemas), standalone schemas with local `$ref`s resolved and OpenAPI 3.0's dialect translated,
//! the operations of a document, and the checks a response must pass.
//!
//! Nothing here does I/O beyond reading the contract file; live testing (`contract test`) and
//! recorded traffic (`contract validate`) build on it in `modelci-contract`.

pub mod check;
pub mod compat;
pub mod coverage;
pub mod diff;
pub mod generate;
pub mod load;
pub mod negative;
pub mod ops;
pub mod paths;
pub mod schema;

pub use check::{CheckKind, Observed, Validators, check_response};
pub use load::{Document, Kind, LoadError, load, parse};
pub use ops::{Operation, operations};
pub use paths::PathItems;
