//! Monitoring: the status page, `/api/state`, `/metrics` ([`http`]) and MQTT ([`mqtt`]).
//!
//! The safety path never waits for any of it. The main loop publishes a [`Status`] into a
//! watch channel (one slot, replaced, never queued: a reader that falls behind simply sees the
//! newest value next time), and everything here runs on its own OS thread with its own tokio
//! runtime, so a slow browser, a stalled scrape or a dead broker can neither block the loop nor
//! take CPU turns from it on the daemon's single-threaded runtime.

pub mod http;
pub mod mqtt;
pub mod status;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::config::Config;
pub use status::Status;

/// The newest status; `None` until the daemon has built one.
pub type StatusReceiver = watch::Receiver<Option<Arc<Status>>>;

/// How long a clean stop waits for monitoring to finish its goodbyes (MQTT "offline").
const STOP_GRACE: Duration = Duration::from_secs(2);

/// The monitoring thread. Dropping it without [`Monitoring::stop`] leaves the thread to die
/// with the process.
pub struct Monitoring {
    stop: tokio::sync::oneshot::Sender<()>,
    done: std::sync::mpsc::Receiver<()>,
}

impl Monitoring {
    /// Start whatever `config` enables, reading `status`. Returns `None` if nothing is enabled.
    /// Failures (a port in use, a broker that cannot be reached) are logged, never returned:
    /// monitoring is not worth stopping CAN output for.
    pub fn start(config: &Config, status: StatusReceiver) -> Option<Monitoring> {
        let http = if config.http.enabled {
            match http::bind(config.http.listen) {
                Ok(listener) => Some(listener),
                Err(e) => {
                    tracing::error!("status page not served: {e}");
                    None
                }
            }
        } else {
            None
        };
        let mqtt = config
            .mqtt
            .enabled
            .then(|| mqtt::Settings::from_config(config));
        if http.is_none() && mqtt.is_none() {
            return None;
        }
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("busbar-monitor".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        tracing::error!("monitoring not started: no runtime: {e}");
                        return;
                    }
                };
                runtime.block_on(async move {
                    let mut tasks = tokio::task::JoinSet::new();
                    if let Some(listener) = http {
                        let status = status.clone();
                        tasks.spawn(async move {
                            if let Err(e) = http::serve(listener, status).await {
                                tracing::error!("status page stopped: {e}");
                            }
                        });
                    }
                    let (quit_tx, quit_rx) = watch::channel(false);
                    let mqtt = mqtt
                        .map(|settings| tokio::spawn(mqtt::run(settings, status.clone(), quit_rx)));
                    let _ = stop_rx.await;
                    // MQTT says goodbye ("offline", DISCONNECT) within mqtt::GOODBYE.
                    let _ = quit_tx.send(true);
                    if let Some(task) = mqtt {
                        let _ = tokio::time::timeout(STOP_GRACE, task).await;
                    }
                    tasks.abort_all();
                });
                let _ = done_tx.send(());
            });
        match spawned {
            Ok(_) => Some(Monitoring {
                stop: stop_tx,
                done: done_rx,
            }),
            Err(e) => {
                tracing::error!("monitoring not started: {e}");
                None
            }
        }
    }

    /// Ask monitoring to finish and wait a little for it; never longer than [`STOP_GRACE`].
    pub fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.done.recv_timeout(STOP_GRACE);
    }
}
