//! Reading a command's input from a file or standard input, and writing its output.

use std::io::{Read, Write};
use std::path::Path;

use crate::Failure;

/// Reads all of `path`, or standard input when `path` is `-`.
#[allow(dead_code)] // used by the commands that read whole files
pub(crate) fn read_input(path: &Path) -> Result<Vec<u8>, Failure> {
    let mut data = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .read_to_end(&mut data)
            .map_err(|e| Failure::Usage(format!("cannot read standard input: {e}")))?;
    } else {
        data = std::fs::read(path)
            .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    }
    Ok(data)
}

/// Writes `bytes` to `path`, or standard output when `path` is `-`.
#[allow(dead_code)] // used by the commands that write files
pub(crate) fn write_output(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    if path.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes)
            .and_then(|()| out.flush())
            .map_err(|e| Failure::Usage(format!("cannot write standard output: {e}")))
    } else {
        std::fs::write(path, bytes)
            .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", path.display())))
    }
}
