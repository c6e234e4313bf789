//! The running node's local admin socket, `<data_dir>/admin.sock`: how `raremesh admin
//! backup` gets a consistent archive from a node that keeps serving. Only the node's
//! user can open it (the socket is 0600 in a 0700 folder).
//!
//! A client writes one line, `backup`. The node answers `ok` and a line, then the
//! archive in frames (a 4-byte big-endian length, then that many bytes), then an empty
//! frame and the [`Summary`] as one JSON line; or, at any point, a frame of length
//! `u32::MAX` followed by the error on one line.

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{BackupError, Summary};
use crate::state::AppState;

const FAILED: u32 = u32::MAX;

/// The socket of the node whose data folder is `data`.
pub fn path(data: &Path) -> PathBuf {
    data.join("admin.sock")
}

/// A writer that sends what it is given as frames.
struct Frames<W: Write>(W);

impl<W: Write> Write for Frames<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = buf.len().min(1 << 20);
        self.0.write_all(&(n as u32).to_be_bytes())?;
        self.0.write_all(&buf[..n])?;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Listens on the socket until the process ends (a stale socket from a stopped node is
/// replaced). Connections are served one at a time.
pub fn start(state: &AppState) -> std::io::Result<PathBuf> {
    let path = path(&state.config.data_dir);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(&path)?;
    crate::files::make_private(&path)?;
    let state = state.clone();
    std::thread::Builder::new()
        .name("admin-socket".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                if let Err(e) = serve_one(&state, stream) {
                    tracing::warn!(error = %e, "admin socket: a request failed");
                }
            }
        })?;
    Ok(path)
}

fn serve_one(state: &AppState, stream: UnixStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut line = String::new();
    BufReader::new((&stream).take(256)).read_line(&mut line)?;
    let mut out = BufWriter::with_capacity(1 << 20, &stream);
    match line.trim() {
        "backup" => {
            out.write_all(b"ok\n")?;
            let started = std::time::Instant::now();
            let data = &state.config.data_dir;
            let result = super::write(state.kv.as_ref(), data, Frames(&mut out));
            match result {
                Ok(summary) => {
                    tracing::info!(
                        records = summary.records,
                        files = summary.files,
                        secs = started.elapsed().as_secs_f64(),
                        "backup made"
                    );
                    out.write_all(&0u32.to_be_bytes())?;
                    let json = serde_json::to_string(&summary).unwrap_or_default();
                    writeln!(out, "{json}")?;
                }
                Err(e) => {
                    tracing::error!(error = %e, "backup failed");
                    out.write_all(&FAILED.to_be_bytes())?;
                    writeln!(out, "{e}")?;
                }
            }
        }
        other => {
            writeln!(out, "error: unknown command {other:?}")?;
        }
    }
    out.flush()
}

/// Asks the node listening on `socket` for a backup and writes the archive to `out`.
/// `Ok(None)`: no node listens there.
pub fn fetch_backup(socket: &Path, out: &mut impl Write) -> Result<Option<Summary>, BackupError> {
    let stream = match UnixStream::connect(socket) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None);
        }
        Err(e) => {
            return Err(BackupError::Io {
                path: socket.to_owned(),
                error: e,
            });
        }
    };
    let cut = |e: std::io::Error| BackupError::Archive(format!("was cut short by the node: {e}"));
    (&stream).write_all(b"backup\n").map_err(cut)?;
    let mut r = BufReader::with_capacity(1 << 20, &stream);
    let mut line = String::new();
    r.read_line(&mut line).map_err(cut)?;
    if line.trim() != "ok" {
        return Err(BackupError::Archive(format!(
            "was refused by the node: {}",
            line.trim()
        )));
    }
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let mut len = [0u8; 4];
        r.read_exact(&mut len).map_err(cut)?;
        match u32::from_be_bytes(len) {
            0 => break,
            FAILED => {
                let mut why = String::new();
                r.read_line(&mut why).map_err(cut)?;
                return Err(BackupError::Archive(format!(
                    "could not be made by the node: {}",
                    why.trim()
                )));
            }
            n => {
                let n = n as usize;
                if n > buf.len() {
                    buf.resize(n, 0);
                }
                r.read_exact(&mut buf[..n]).map_err(cut)?;
                out.write_all(&buf[..n]).map_err(|e| BackupError::Io {
                    path: PathBuf::from("the output"),
                    error: e,
                })?;
            }
        }
    }
    let mut summary = String::new();
    r.read_line(&mut summary).map_err(cut)?;
    serde_json::from_str(&summary)
        .map(Some)
        .map_err(|e| BackupError::Archive(format!("summary from the node: {e}")))
}
