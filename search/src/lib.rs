//! Search for raremesh: symptom and disease autocomplete over the HPO (tantivy), and
//! (see the matching modules) phenotype similarity between patients.
//!
//! Autocomplete indexes every term name and synonym and every disease name as one
//! document each. A query word is expanded through tantivy's term dictionary into the
//! indexed words it may stand for (itself, words it begins, words within one or two
//! typos); tantivy returns the best candidate labels, which are then ranked by how
//! completely they match, whether they match as a phrase, the kind of label, and how
//! common the term is. Each term or disease appears once, under its best label.
#![forbid(unsafe_code)]

mod autocomplete;
mod error;
mod expand;
mod index;
mod labels;
pub mod matching;
pub mod questions;
mod rank;
mod text;

pub use autocomplete::{Autocomplete, Hit, MAX_LIMIT};
pub use error::{Error, Result};
pub use labels::{LabelKind, Target};
