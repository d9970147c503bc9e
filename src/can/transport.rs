//! The one trait every CAN output implements, its typed errors, and [`open`], which turns the
//! `[can] interface` setting into a [`Transport`].
//!
//! A transport never panics and never takes the daemon down: every failure is a
//! [`CanSendError`] the daemon hands to the scheduler ([`super::scheduler::Scheduler::send_failed`])
//! and otherwise ignores. The transports log each failure *episode* once themselves
//! ([`super::episode`]), so the daemon does not have to.
//!
//! Why `send_all(&[CanFrame])` rather than one frame at a time: a frame set is the unit both
//! ends care about. The SocketCAN transport spends one bounded retry budget per set (so a set
//! can never hold the daemon up for longer than the budget, however many frames it has) and
//! stops at the first hard error instead of hitting a downed interface fourteen times; the
//! candump transport writes and flushes a set in one `write`, so a pipe reader sees whole sets.
//! [`CanTransport::send`] is the one-frame convenience for a limit cut.
//!
//! # In the daemon
//!
//! One task owns the transport and the [`Scheduler`](super::scheduler::Scheduler); it wakes on
//! a new battery state, on the scheduler's deadline, or on something received, and after each
//! wake asks the scheduler what to send. (The encoder closures stand for the `encode` module.)
//!
//! ```no_run
//! use std::time::Duration;
//! use busbar::battery::BatteryState;
//! use busbar::can::{self, CanFrame, CanTransport, Plan, Scheduler};
//!
//! async fn can_task(
//!     interface: &str,
//!     can_interval: Duration,
//!     // `None` until the core has its first state (DESIGN.md rule 6).
//!     mut states: tokio::sync::watch::Receiver<Option<BatteryState>>,
//!     encode_351: impl Fn(&BatteryState) -> CanFrame,
//!     encode_set: impl Fn(&BatteryState) -> Vec<CanFrame>,
//! ) -> Result<(), can::CanOpenError> {
//!     let mut transport = can::open(interface).await?;
//!     let mut scheduler = Scheduler::new(can_interval);
//!     loop {
//!         let deadline = scheduler.next_deadline().map(tokio::time::Instant::from_std);
//!         tokio::select! {
//!             changed = states.changed() => if changed.is_err() { return Ok(()) },
//!             () = async {
//!                 if let Some(at) = deadline { tokio::time::sleep_until(at).await }
//!             }, if deadline.is_some() => {}
//!             // Keep-alive or bus state; see transport.last_keepalive() / bus_state().
//!             _event = transport.recv() => {}
//!         }
//!         let state = states.borrow().clone();
//!         let Some(state) = state else { continue };
//!         let sent = match scheduler.plan_state(std::time::Instant::now(), Some(&state)) {
//!             Plan::Nothing => continue,
//!             Plan::LimitsOnly => transport.send(&encode_351(&state)).await,
//!             Plan::FullSet => transport.send_all(&encode_set(&state)).await,
//!         };
//!         // Already logged (once per episode) by the transport.
//!         if sent.is_err() {
//!             scheduler.send_failed();
//!         }
//!     }
//! }
//! ```
//!
//! On SIGTERM the daemon sends its last set (CCL = DCL = 0, DESIGN.md rule 8) with
//! `send_all` directly; the scheduler is not involved.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::candump::CandumpWriter;
use super::episode::Fault;
use super::frame::CanFrame;
use super::memory::MemoryTransport;
use super::socketcan::SocketCanLink;

/// The inverter's keep-alive (Pylontech LV: every second, all zero; Venus sends it too),
/// victron-can.md §3.2 "Inverter/GX → BMS".
pub const KEEPALIVE_ID: u16 = 0x305;

/// Why a frame set did not (all) go out. The interface name is in every variant, so the
/// `Display` text is a complete log line.
#[derive(Debug, thiserror::Error)]
pub enum CanSendError {
    #[error(
        "{interface}: transmit queue still full after {attempts} attempts in {} ms (ENOBUFS: \
         is anything on the bus acknowledging frames? is the bit rate right?)",
        waited.as_millis()
    )]
    QueueFull {
        interface: String,
        attempts: u32,
        waited: Duration,
    },
    #[error(
        "{interface} is down (ENETDOWN): `ip link set {interface} up type can bitrate 500000 \
         restart-ms 100`"
    )]
    InterfaceDown { interface: String },
    #[error("no network interface {interface} (ENODEV): CAN adapter missing or not set up")]
    NoSuchInterface { interface: String },
    #[error(
        "{interface} is bus-off (too many bus errors); the kernel restarts it only if restart-ms \
         is set: `ip link set {interface} type can restart-ms 100`"
    )]
    BusOff { interface: String },
    #[error("I/O error on {target}: {source}")]
    Io {
        target: String,
        #[source]
        source: io::Error,
    },
}

impl CanSendError {
    /// The kind of trouble, for episode logging and for the daemon's status.
    pub fn fault(&self) -> Fault {
        match self {
            CanSendError::QueueFull { .. } => Fault::QueueFull,
            CanSendError::InterfaceDown { .. } => Fault::InterfaceDown,
            CanSendError::NoSuchInterface { .. } => Fault::NoSuchInterface,
            CanSendError::BusOff { .. } => Fault::BusOff,
            CanSendError::Io { .. } => Fault::Io,
        }
    }
}

/// Why the `[can] interface` setting cannot be turned into a transport at all. A SocketCAN
/// interface that is missing or down is *not* one of these from [`open`]: the transport is
/// returned anyway and keeps trying (the adapter may come later); see
/// [`SocketCanLink::try_open`] for the strict form.
#[derive(Debug, thiserror::Error)]
pub enum CanOpenError {
    #[error(
        "\"{0}\" is not a network interface name (like \"can0\") nor \"candump:-\" / \"candump:PATH\""
    )]
    InvalidName(String),
    #[error("cannot open {} for candump output: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("no network interface {interface} (ENODEV): CAN adapter missing or not set up")]
    NoSuchInterface { interface: String },
    #[error("cannot open a CAN socket on {interface}: {source}")]
    Socket {
        interface: String,
        #[source]
        source: io::Error,
    },
}

/// The CAN controller's error state, from the kernel's error frames (linux/can/error.h).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum BusState {
    /// Normal operation (or nothing reported yet).
    #[default]
    Active,
    /// An error counter passed 96.
    Warning,
    /// An error counter passed 127: the controller still sends but may not flag errors. A bus
    /// with nobody acknowledging (Cerbo unplugged) sits here.
    Passive,
    /// Transmit error counter passed 255: the controller is off the bus until restarted.
    BusOff,
}

/// Something a transport received that the daemon may care about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RxEvent {
    /// The inverter's 0x305 keep-alive arrived ([`CanTransport::last_keepalive`] is updated).
    Keepalive(CanFrame),
    /// The controller changed state (the transport logs the change itself).
    BusState(BusState),
}

/// A CAN output.
pub trait CanTransport: Send {
    /// Send `frames` in order. Stops at the first frame that cannot go out; the frames before
    /// it may be on the bus. Bounded in time (see each transport), never panics.
    fn send_all(
        &mut self,
        frames: &[CanFrame],
    ) -> impl Future<Output = Result<(), CanSendError>> + Send;

    /// Send one frame (a limit cut: 0x351 alone).
    fn send(&mut self, frame: &CanFrame) -> impl Future<Output = Result<(), CanSendError>> + Send {
        let frame = *frame;
        async move { self.send_all(std::slice::from_ref(&frame)).await }
    }

    /// Wait for the next received event. Cancel-safe (meant as a `tokio::select!` branch);
    /// transports that receive nothing never return.
    fn recv(&mut self) -> impl Future<Output = RxEvent> + Send;

    /// When the last 0x305 keep-alive arrived.
    fn last_keepalive(&self) -> Option<Instant> {
        None
    }

    /// The controller state as last reported.
    fn bus_state(&self) -> BusState {
        BusState::Active
    }
}

/// The configured output. An enum rather than `Box<dyn CanTransport>`: the trait's methods
/// return futures (`impl Future`), which are not object-safe, and three variants are known.
pub enum Transport {
    /// `[can] interface = "can0"`.
    SocketCan(SocketCanLink),
    /// `"candump:-"` or `"candump:PATH"`.
    Candump(CandumpWriter),
    /// Tests.
    Memory(MemoryTransport),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::SocketCan(t) => write!(f, "Transport::SocketCan({})", t.interface()),
            Transport::Candump(t) => write!(f, "Transport::Candump({})", t.target()),
            Transport::Memory(_) => f.write_str("Transport::Memory"),
        }
    }
}

impl CanTransport for Transport {
    async fn send_all(&mut self, frames: &[CanFrame]) -> Result<(), CanSendError> {
        match self {
            Transport::SocketCan(t) => t.send_all(frames).await,
            Transport::Candump(t) => t.send_all(frames).await,
            Transport::Memory(t) => t.send_all(frames).await,
        }
    }

    async fn recv(&mut self) -> RxEvent {
        match self {
            Transport::SocketCan(t) => t.recv().await,
            Transport::Candump(t) => t.recv().await,
            Transport::Memory(t) => t.recv().await,
        }
    }

    fn last_keepalive(&self) -> Option<Instant> {
        match self {
            Transport::SocketCan(t) => t.last_keepalive(),
            Transport::Candump(t) => t.last_keepalive(),
            Transport::Memory(t) => t.last_keepalive(),
        }
    }

    fn bus_state(&self) -> BusState {
        match self {
            Transport::SocketCan(t) => t.bus_state(),
            Transport::Candump(t) => t.bus_state(),
            Transport::Memory(t) => t.bus_state(),
        }
    }
}

/// Where the `[can] interface` setting points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InterfaceSpec {
    /// A SocketCAN network interface (`can0`, `vcan0`).
    SocketCan(String),
    /// `candump:-`.
    CandumpStdout,
    /// `candump:PATH`.
    CandumpFile(PathBuf),
}

impl InterfaceSpec {
    /// Parse the setting (the same rules as `config::validate`).
    pub fn parse(interface: &str) -> Result<Self, CanOpenError> {
        match interface.strip_prefix("candump:") {
            Some("-") => Ok(InterfaceSpec::CandumpStdout),
            Some("") => Err(CanOpenError::InvalidName(interface.to_owned())),
            Some(path) => Ok(InterfaceSpec::CandumpFile(PathBuf::from(path))),
            // Linux interface names are at most 15 bytes (IFNAMSIZ - 1), no '/' nor whitespace.
            None if interface.is_empty()
                || interface.len() > 15
                || interface.contains(|c: char| c == '/' || c.is_whitespace()) =>
            {
                Err(CanOpenError::InvalidName(interface.to_owned()))
            }
            None => Ok(InterfaceSpec::SocketCan(interface.to_owned())),
        }
    }
}

/// Open the output named by the `[can] interface` setting. Must run inside a Tokio runtime with
/// I/O enabled (`#[tokio::main]`), which SocketCAN's async socket needs.
///
/// A SocketCAN interface that is missing or down does not fail here: the transport is returned
/// closed, the trouble is logged once, and every send reopens it when its backoff allows, so
/// busbar may start before the CAN adapter is ready. Only a malformed setting or a candump file
/// that cannot be created are errors.
pub async fn open(interface: &str) -> Result<Transport, CanOpenError> {
    match InterfaceSpec::parse(interface)? {
        InterfaceSpec::SocketCan(name) => {
            let mut link = SocketCanLink::new(name);
            // Logged once inside; sends retry the open. See the doc above.
            let _ = link.try_open();
            Ok(Transport::SocketCan(link))
        }
        InterfaceSpec::CandumpStdout => Ok(Transport::Candump(CandumpWriter::stdout())),
        InterfaceSpec::CandumpFile(path) => Ok(Transport::Candump(CandumpWriter::append(&path)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_settings_parse() {
        assert_eq!(
            InterfaceSpec::parse("can0").unwrap(),
            InterfaceSpec::SocketCan("can0".into())
        );
        assert_eq!(
            InterfaceSpec::parse("candump:-").unwrap(),
            InterfaceSpec::CandumpStdout
        );
        assert_eq!(
            InterfaceSpec::parse("candump:/tmp/x.log").unwrap(),
            InterfaceSpec::CandumpFile("/tmp/x.log".into())
        );
        for bad in ["", "candump:", "/dev/can0", "can 0", "a-very-long-name0"] {
            assert!(
                matches!(InterfaceSpec::parse(bad), Err(CanOpenError::InvalidName(_))),
                "{bad:?}"
            );
        }
    }
}
