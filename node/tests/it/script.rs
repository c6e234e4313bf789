//! Running the project's Python checkers (`scripts/*.py`) with the test tools'
//! interpreter (`.venv-test`, made by `scripts/install-test-deps.sh`).

use std::ffi::OsStr;
use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `scripts/<script>` with `args`, writing `input` to its standard input.
pub fn run(script: &str, args: &[&OsStr], input: &[u8]) -> Output {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join("../.venv-test/bin/python");
    let mut child = Command::new(&python)
        .arg(root.join("../scripts").join(script))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (scripts/install-test-deps.sh makes it)",
                python.display()
            )
        });
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write");
    child.wait_with_output().expect("the script ran")
}
