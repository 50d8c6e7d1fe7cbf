//! Evaluation. [`retrieval`] scores the answer pipeline on a questions file beside the ranking
//! it replaced and a naive [`baseline`]; [`distress`] scores the distress detector.

mod baseline;
pub mod distress;
pub mod retrieval;

pub use retrieval::{
    render, run, Answerable, Metrics, OutOfScope, Questions, Report, Row, SplitReport,
};
