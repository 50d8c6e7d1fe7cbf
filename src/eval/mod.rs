//! Evaluation. [`retrieval`] scores the answer pipeline on a questions file beside the ranking
//! it replaced and a naive [`baseline`]; [`distress`] scores the distress detector.

mod baseline;
pub mod distress;
pub mod retrieval;

/// Which cases a rendered report lists one by one. The test split is what the figures are
/// reported on and nothing may be tuned on, so its cases are listed only when asked for by
/// name (`eval --show-test`): a `-v` run while tuning shows dev alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// Totals only.
    Totals,
    /// Totals, and the dev split's misses.
    Dev,
    /// Totals, and every split's misses.
    Every,
}

impl Listing {
    /// Whether the cases of `split` are listed.
    pub fn lists(self, split: &str) -> bool {
        match self {
            Listing::Totals => false,
            Listing::Dev => split != "test",
            Listing::Every => true,
        }
    }
}

pub use retrieval::{
    render, run, Answerable, Metrics, OutOfScope, Questions, Report, Row, SplitReport,
};
