//! The CLI's own terminal output (not logs).

/// Prints a line to stdout.
#[expect(clippy::print_stdout, reason = "the CLI's user-facing output")]
pub(crate) fn line(s: &str) {
    println!("{s}");
}

/// Prints an error line to stderr.
#[expect(clippy::print_stderr, reason = "the CLI's user-facing output")]
pub(crate) fn error(s: &str) {
    eprintln!("error: {s}");
}
