//! `busbar run`: readers, core and CAN output wired together.
//!
//! One task per serial port sends every poll's outcome into one channel; the main loop hands
//! valid readings to the pure core, ticks it on every reading and on a short timer (so an
//! offline pack is noticed within a tick of `offline_after`), and lets the scheduler decide what
//! goes on the bus. The loop never waits on anything but the channel, the timer and the stop
//! signal, so nothing slow can hold back a cut.

pub mod bms_limits;
pub mod events;

use std::future::Future;
use std::time::Duration;

use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::battery::{Battery, BatteryState};
use crate::bus::{spawn_jk_pb_bus, BusMember, BusSettings};
use crate::can::transport::{self, Transport};
use crate::can::{encode_all, encode_limits, EncoderSettings};
use crate::can::{CanTransport, Plan, Scheduler};
use crate::config::{CanProfile, Config, Protocol};
use crate::monitor::status::{self, Counters, Inputs};
use crate::monitor::{Monitoring, Status, StatusReceiver};
use crate::reader::{spawn_jk_nw_reader, PollSettings, Reading};
use bms_limits::BmsLimitWarnings;
use events::EventTracker;

/// The core is ticked at least this often besides every reading: offline detection and the
/// ramp are then at most this late. A tick costs a few µs.
const TICK: Duration = Duration::from_millis(100);

/// Monitoring gets a new [`Status`] at most this often (and at once after a cut). Building one
/// converts every pack's last reading to its JSON form: cheap, but no reason to do it per
/// reading; the status page's event stream sends at most this often anyway.
const STATUS_EVERY: Duration = Duration::from_millis(250);

/// Why the daemon could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("configuration: {0}")]
    Settings(String),
    #[error("CAN output {interface}: {source}")]
    Can {
        interface: String,
        #[source]
        source: transport::CanOpenError,
    },
}

/// The daemon, built from a validated configuration.
pub struct Daemon {
    config: Config,
    battery: Battery,
    encoder: EncoderSettings,
    states: watch::Sender<Option<Arc<BatteryState>>>,
    status: watch::Sender<Option<Arc<Status>>>,
}

impl Daemon {
    pub fn new(config: Config) -> Result<Self, DaemonError> {
        let settings = config
            .battery_settings()
            .map_err(|p| DaemonError::Settings(join(&p)))?;
        let encoder = EncoderSettings::from_config(&config.can)
            .map_err(|e| DaemonError::Settings(format!("can: {e}")))?;
        let battery = Battery::new(settings, std::time::Instant::now())
            .map_err(|e| DaemonError::Settings(e.to_string()))?;
        Ok(Self {
            config,
            battery,
            encoder,
            states: watch::channel(None).0,
            status: watch::channel(None).0,
        })
    }

    /// The newest battery state, for monitoring (status line, HTTP, MQTT). A watch channel:
    /// the main loop only replaces a value and never waits for a reader.
    pub fn subscribe(&self) -> watch::Receiver<Option<Arc<BatteryState>>> {
        self.states.subscribe()
    }

    /// The newest [`Status`] (battery, packs with their last readings, counters), as the status
    /// page, `/metrics` and MQTT see it. Same guarantees as [`Daemon::subscribe`].
    pub fn subscribe_status(&self) -> StatusReceiver {
        self.status.subscribe()
    }

    /// Run until `stop` resolves; then send the last frame set with CCL = DCL = 0 (DESIGN.md
    /// rule 8) and return.
    pub async fn run(self, stop: impl Future<Output = ()>) -> Result<(), DaemonError> {
        let Daemon {
            config,
            mut battery,
            encoder,
            states,
            status: status_tx,
        } = self;
        let started = std::time::Instant::now();
        let monitoring = Monitoring::start(&config, status_tx.subscribe());
        let mut bus = transport::open(&config.can.interface)
            .await
            .map_err(|source| DaemonError::Can {
                interface: config.can.interface.clone(),
                source,
            })?;
        let mut scheduler = Scheduler::new(config.timing.can_interval);

        let (tx, mut readings) = mpsc::channel::<Reading>(4 * config.packs.len().max(1));
        let poll = PollSettings::new(config.timing.poll_interval);
        let mut readers: Vec<_> = config
            .packs
            .iter()
            .enumerate()
            .filter(|(_, pack)| pack.protocol == Protocol::JkNw)
            .map(|(index, pack)| {
                spawn_jk_nw_reader(index, pack.port.clone(), poll.clone(), tx.clone())
            })
            .collect();
        // jk-pb: one task per bus (port), polling its addresses in turn.
        for (port, members) in jk_pb_buses(&config) {
            let settings = BusSettings::new(config.timing.poll_interval);
            readers.push(spawn_jk_pb_bus(port, members, settings, tx.clone()));
        }
        let mut bms_limits = BmsLimitWarnings::new(config.packs.len());
        drop(tx);
        let mut tracker = EventTracker::new(config.packs.iter().map(|p| p.name.clone()).collect());
        let mut notifier = SystemdNotifier::new();
        let mut ticks = tokio::time::interval(TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tracing::info!(
            packs = config.packs.len(),
            can = %config.can.interface,
            "busbar running; no CAN output until every pack has answered once or offline_after has passed"
        );
        tokio::pin!(stop);

        // Shared with monitoring readers as an Arc: handing it over costs no copy.
        let mut state: Option<Arc<BatteryState>> = None;
        let mut counters = Counters::new(config.packs.len());
        let mut last_status: Option<std::time::Instant> = None;
        let mut keepalive = KeepaliveWatch::new(config.can.profile);
        loop {
            let deadline = scheduler.next_deadline();
            tokio::select! {
                biased;
                () = &mut stop => break,
                Some(reading) = readings.recv() => {
                    take_reading(
                        reading,
                        &config,
                        &mut battery,
                        &mut bms_limits,
                        &mut counters,
                        &mut tracker,
                    );
                }
                () = sleep_until_some(deadline) => {}
                _ = ticks.tick() => {}
                // Keep-alives and bus-state changes; the transport logs bus trouble itself.
                _ = bus.recv() => {}
            }
            let now = Instant::now().into_std();
            if let Some(next) = battery.tick(now) {
                for event in tracker.update(now, &next) {
                    match event {
                        events::Event::PackOnline { .. } => tracing::info!("{event}"),
                        _ => tracing::warn!("{event}"),
                    }
                }
                state = Some(Arc::new(next));
            }
            let plan = scheduler.plan_state(now, state.as_deref());
            if let Some(current) = &state {
                let sent = send(&mut bus, plan, current, &encoder).await;
                if sent.ok {
                    counters.can_frames_sent += sent.frames;
                    if plan != Plan::Nothing {
                        notifier.frames_sent();
                    }
                } else {
                    counters.can_frames_failed += sent.frames;
                    scheduler.send_failed();
                }
                states.send_replace(Some(Arc::clone(current)));
            }
            // Monitoring after the bus: a cut is on CAN before anyone is told about it.
            let cut = state.as_ref().is_some_and(|s| s.lowered);
            if cut || last_status.is_none_or(|t| now.saturating_duration_since(t) >= STATUS_EVERY) {
                last_status = Some(now);
                status_tx.send_replace(Some(Arc::new(Status::build(&Inputs {
                    config: &config,
                    battery: &battery,
                    state: state.as_deref(),
                    counters: &counters,
                    started,
                    now,
                }))));
            }
            keepalive.check(now, bus.last_keepalive());
            notifier.alive();
        }

        for reader in &readers {
            reader.abort();
        }
        // Rule 8: the last word on the bus is "no current".
        match battery.shutdown_state(Instant::now().into_std()) {
            Some(last) => {
                if send(&mut bus, Plan::FullSet, &last, &encoder).await.ok {
                    tracing::info!("stopped: sent the last frame set with CCL = DCL = 0");
                } else {
                    tracing::error!(
                        "stopped, but the last frame set (CCL = DCL = 0) could not be sent"
                    );
                }
            }
            None => tracing::info!("stopped before any frame was sent"),
        }
        notifier.stopping();
        if let Some(monitoring) = monitoring {
            monitoring.stop();
        }
        Ok(())
    }
}

/// The jk-pb packs grouped by port, in configuration order (validation guarantees an address).
fn jk_pb_buses(config: &Config) -> Vec<(std::path::PathBuf, Vec<BusMember>)> {
    let mut buses: Vec<(std::path::PathBuf, Vec<BusMember>)> = Vec::new();
    for (pack, p) in config.packs.iter().enumerate() {
        let (Protocol::JkPb, Some(address)) = (p.protocol, p.address) else {
            continue;
        };
        let member = BusMember { pack, address };
        match buses.iter_mut().find(|(port, _)| *port == p.port) {
            Some((_, members)) => members.push(member),
            None => buses.push((p.port.clone(), vec![member])),
        }
    }
    buses
}

/// Hand one poll's outcome to the core and count it; a problem is remembered for the offline
/// log line. Only the core decides whether a reading counts (DESIGN.md rule 1).
fn take_reading(
    reading: Reading,
    config: &Config,
    battery: &mut Battery,
    bms_limits: &mut BmsLimitWarnings,
    counters: &mut Counters,
    tracker: &mut EventTracker,
) {
    let (pack, bad) = (reading.pack, reading.bad_frames);
    let (kind, why) = match reading.outcome {
        Ok(snapshot) => {
            if let Some(p) = config.packs.get(pack) {
                for warning in bms_limits.check(pack, p, snapshot.bms_settings.as_ref()) {
                    tracing::warn!("{warning}");
                }
            }
            match battery.accept(pack, reading.at.into_std(), snapshot) {
                Ok(()) => return counters.good(pack, bad),
                Err(rejected) => (status::Problem::Rejected, rejected.to_string()),
            }
        }
        Err(e) if e.is_link_down() => (status::Problem::Link, e.to_string()),
        Err(e) => (status::Problem::Timeout, e.to_string()),
    };
    counters.problem(pack, kind, bad, why.clone());
    tracker.problem(pack, why);
}

/// What one [`send`] did: whether the bus took it, and how many frames that was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Sent {
    ok: bool,
    frames: u64,
}

/// Send what `plan` says; `ok: false` if the bus refused (the transport has logged why) or the
/// encoder refused the state.
async fn send(
    bus: &mut Transport,
    plan: Plan,
    state: &BatteryState,
    encoder: &EncoderSettings,
) -> Sent {
    let (result, frames) = match plan {
        Plan::Nothing => {
            return Sent {
                ok: true,
                frames: 0,
            }
        }
        Plan::LimitsOnly => match encode_limits(state) {
            Ok(frame) => (bus.send(&frame).await, 1),
            Err(refused) => return refuse(refused, 1),
        },
        Plan::FullSet => match encode_all(state, encoder) {
            Ok(frames) => (bus.send_all(&frames).await, frames.len() as u64),
            Err(refused) => return refuse(refused, 1),
        },
    };
    Sent {
        ok: result.is_ok(),
        frames,
    }
}

/// The encoder refused a state it cannot send truthfully (CVL or voltage 0, DESIGN.md rules 4
/// and 6). Sending nothing lets Venus declare the BMS lost and stop its chargers; that is the
/// safe side.
fn refuse(error: crate::can::EncodeError, frames: u64) -> Sent {
    tracing::error!("frame set not sent: {error}");
    Sent { ok: false, frames }
}

/// Resolve at `deadline`, or never without one.
async fn sleep_until_some(deadline: Option<std::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Pylon profile: the inverter sends 0x305 every second (victron-can.md §3.2, Pylon spec). Log
/// once when it stops arriving and once when it is back; never per frame.
struct KeepaliveWatch {
    enabled: bool,
    missing: bool,
}

/// Three missed keep-alives of a 1 s cadence.
const KEEPALIVE_MISSING_AFTER: Duration = Duration::from_secs(3);

impl KeepaliveWatch {
    fn new(profile: CanProfile) -> Self {
        Self {
            enabled: profile == CanProfile::Pylon,
            missing: false,
        }
    }

    fn check(&mut self, now: std::time::Instant, last: Option<std::time::Instant>) {
        if !self.enabled {
            return;
        }
        // Only an inverter that was heard can stop being heard.
        let Some(last) = last else { return };
        let missing = now.saturating_duration_since(last) > KEEPALIVE_MISSING_AFTER;
        if missing && !self.missing {
            tracing::warn!(
                "the inverter's 0x305 keep-alive stopped arriving: is it still connected?"
            );
        } else if !missing && self.missing {
            tracing::info!("the inverter's 0x305 keep-alive is back");
        }
        self.missing = missing;
    }
}

fn join(problems: &[crate::battery::ConfigProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// systemd `Type=notify`: READY once the first frame set is out, watchdog pings while the main
/// loop turns. Without `NOTIFY_SOCKET` (not under systemd) every call is a no-op.
struct SystemdNotifier {
    ready: bool,
    watchdog: Option<Duration>,
    last_ping: Option<Instant>,
}

impl SystemdNotifier {
    fn new() -> Self {
        // Ping at half the watchdog period, as sd_watchdog_enabled(3) advises.
        let watchdog = sd_notify::watchdog_enabled().map(|period| period / 2);
        Self {
            ready: false,
            watchdog,
            last_ping: None,
        }
    }

    fn frames_sent(&mut self) {
        if !self.ready {
            self.ready = true;
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
        }
    }

    fn alive(&mut self) {
        let Some(every) = self.watchdog else { return };
        let now = Instant::now();
        if self.last_ping.is_none_or(|t| now - t >= every) {
            self.last_ping = Some(now);
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
        }
    }

    fn stopping(&self) {
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    }
}
