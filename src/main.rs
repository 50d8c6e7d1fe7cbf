//! The `ohwb-bot` binary: parses the command line and hands over to [`cli`]. Errors stop here:
//! they are printed with their causes and mapped to an exit code.

#[macro_use]
mod print;
mod args;
mod check;
mod cli;
mod logging;
mod output;
mod serve;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
