//! Writing to stdout without panicking: `println!` panics on a closed pipe
//! (`ohwb-bot sources | head -1`); these return the error instead, and `main` ends quietly on a
//! broken pipe and reports anything else.

/// `println!` that returns a write error (a closed pipe, a full disk) instead of panicking:
/// `main` ends quietly on a broken pipe and reports anything else.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// `print!` that returns a write error, as [`outln!`] does.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)
    }};
}
