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

    /// Whether a listing was asked for and `split`'s cases are held back from it (the report
    /// then says how to list them).
    pub fn withholds(self, split: &str) -> bool {
        self != Listing::Totals && !self.lists(split)
    }
}

pub use retrieval::{
    render, run, Answerable, Metrics, OutOfScope, Questions, Report, Row, SplitReport,
};

#[cfg(test)]
mod tests {
    use super::Listing;

    #[test]
    fn a_tuning_listing_holds_the_test_split_back() {
        assert!(Listing::Dev.lists("dev") && !Listing::Dev.lists("test"));
        assert!(Listing::Dev.withholds("test") && !Listing::Dev.withholds("dev"));
        assert!(Listing::Every.lists("test") && !Listing::Every.withholds("test"));
        assert!(!Listing::Totals.lists("dev") && !Listing::Totals.withholds("test"));
    }
}
