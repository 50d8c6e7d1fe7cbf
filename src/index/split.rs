//! The dense scan's split over the cores: one contiguous share of the passages per core, for
//! corpora large enough that a thread costs less than it saves.
//!
//! Invariant: the result is the same, in the same order, however the work was split, so the
//! ranking cannot depend on the machine's core count.

/// From this many passages up, `SearchIndex::dense` scans in parallel, one contiguous share
/// per available core: at 100k the scan is ~9 ms on one core and memory-bound, and the cores
/// are idle by then (the question's reading, which runs on two threads, is finished). Below
/// it a thread costs more than it saves (180 passages scan in ~0.3 ms).
const PARALLEL_SCAN_FROM: usize = 20_000;

/// `scan` over `0..n`, split into one share per core when `n` is at least
/// [`PARALLEL_SCAN_FROM`]; the results in index order either way, so the ranking cannot
/// depend on how the work was split.
pub(super) fn split_scan<F>(n: usize, scan: F) -> Vec<(usize, f32)>
where
    F: Fn(std::ops::Range<usize>) -> Vec<(usize, f32)> + Sync,
{
    if n < PARALLEL_SCAN_FROM {
        return scan(0..n);
    }
    split_over(n, cores(), scan)
}

/// The cores to split over, asked once per process: `available_parallelism` reads the
/// process's CPU affinity and cgroup limits, work the scan need not repeat per question.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |c| c.get().min(8)))
}

/// `scan` over `0..n` in `cores` contiguous shares, one thread each, joined in order.
fn split_over<F>(n: usize, cores: usize, scan: F) -> Vec<(usize, f32)>
where
    F: Fn(std::ops::Range<usize>) -> Vec<(usize, f32)> + Sync,
{
    if cores < 2 || n == 0 {
        return scan(0..n);
    }
    let share = n.div_ceil(cores);
    std::thread::scope(|s| {
        let scan = &scan;
        let handles: Vec<_> = (0..n)
            .step_by(share)
            .map(|start| s.spawn(move || scan(start..(start + share).min(n))))
            .collect();
        handles
            .into_iter()
            // A share's scan only reads; a panic there is a bug, and is raised here as one.
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_scan_returns_what_one_pass_does_in_order() {
        let score = |r: std::ops::Range<usize>| -> Vec<(usize, f32)> {
            r.filter(|i| i % 3 != 0)
                .map(|i| (i, (i as f32).sin()))
                .collect()
        };
        for n in [
            0,
            5,
            PARALLEL_SCAN_FROM - 1,
            PARALLEL_SCAN_FROM,
            PARALLEL_SCAN_FROM * 3 + 7,
        ] {
            assert_eq!(split_scan(n, score), score(0..n), "n = {n}");
            // Whatever this machine has: shares of every size, uneven ones included.
            for cores in [2, 3, 8] {
                assert_eq!(
                    split_over(n, cores, score),
                    score(0..n),
                    "n = {n}, {cores} cores"
                );
            }
        }
    }
}
