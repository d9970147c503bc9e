//! The stop signal: SIGINT (Ctrl-C) or SIGTERM (systemd, `kill`).

use std::future::Future;
use std::io;

use tokio::signal::unix::{signal, SignalKind};

/// Install the handlers now (so a failure shows at start-up, not at the moment a stop is
/// needed) and return a future that resolves on the first SIGINT or SIGTERM.
pub fn stop_signal() -> io::Result<impl Future<Output = ()>> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
