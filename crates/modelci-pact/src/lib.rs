//! Pact contracts: the model of pact files (spec v1 to v4) and the matching engine.
//!
//! - [`model`]: requests, responses and message contents, read from any spec version;
//! - [`rules`]: matching rules (v2 JSONPath-keyed and v3/v4 category-keyed) and matchers;
//! - [`matchers`]: what each matcher says about one value;
//! - [`body`], [`xml`], [`http`]: matching bodies (JSON, XML, form, text), headers, query,
//!   path, method, status and metadata, reporting every [`Mismatch`] with its path and rule.
//!
//! Conformance with the Pact specification's own compliance cases is tested in
//! `tests/conformance.rs` (read from `../shared/conformance/pact-specification`).

pub mod body;
pub mod generators;
pub mod http;
pub mod matchers;
pub mod mismatch;
pub mod model;
pub mod pact;
pub mod path;
pub mod rules;
pub mod xml;

pub use http::{compare_message, compare_request, compare_response};
pub use mismatch::{Mismatch, Part};
pub use model::{Body, MessageContents, Request, Response, SpecVersion};
pub use pact::{Interaction, InteractionKind, Pact, PactError, ProviderState};
