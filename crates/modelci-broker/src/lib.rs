//! A Pact Broker client: the HAL index and its relations (`pb:publish-contracts`,
//! `pb:pacticipant-version`, `pb:environments`, `pb:record-deployment`, `pb:record-release`,
//! `pb:latest-version`), the compatibility matrix (`can-i-deploy`), publishing pacts, and
//! recording deployments and releases, and provider verification (the pacts to verify,
//! publishing verification results).
//!
//! Every request has a timeout ([`Config::timeout`]); credentials (a bearer token, or a user name
//! and password) are sent in the `Authorization` header and hidden in every message. The broker's
//! own error messages (`{"errors": ...}`, `{"error": ...}`) are quoted in [`BrokerError::Http`].
//! The crate never prints.

mod client;
mod error;
mod hal;
mod matrix;
mod notice;
mod publish;
mod record;
mod verification;

pub use client::{Auth, Broker, Config, DEFAULT_RETRIES, DEFAULT_TIMEOUT, retry_policy};
pub use error::BrokerError;
pub use hal::expand;
pub use matrix::{Matrix, MatrixQuery, MatrixRow, Selector, Target, Verdict};
pub use notice::{Notice, notices};
pub use publish::{Contract, Publication, PublishOptions, Published};
pub use record::{Record, Recorded, environment_names};
pub use verification::{
    FetchedPact, Notice as VerificationNotice, PactRef, PactsRequest, VerificationResult,
    check_selector, parse_pacts, parse_selector,
};
