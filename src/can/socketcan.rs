//! SocketCAN transport (socketcan 4.x, its Tokio socket), split in two:
//!
//! - [`SocketCanLink`], generic over a tiny raw-socket trait ([`RawOpener`], [`RawCanSocket`]),
//!   holds everything that decides: ENOBUFS retries within a budget, closing and reopening with
//!   backoff, typed errors, log once per episode, bus state from error frames, the 0x305
//!   keep-alive. Tests drive it with a scripted fake socket, no CAN kernel needed.
//! - [`KernelOpener`] / [`KernelSocket`]: the real socket, a few lines of socketcan calls.
//!
//! What the kernel does, and what the link does about it:
//!
//! | kernel says | when | link |
//! |---|---|---|
//! | `ENOBUFS` (or `EAGAIN`) on send | the interface's tx queue (`txqueuelen`, 10 by default for CAN) is full: a burst faster than the bus drains it, or nobody acknowledges | retry that frame after 1, 2, 4, 8, 16, 16… ms while the set's [`RetryPolicy::budget`] (50 ms) lasts, then [`CanSendError::QueueFull`]. While a queue-full episode lasts, one try per frame and no waiting |
//! | `ENETDOWN` | interface down | [`CanSendError::InterfaceDown`]; close; reopen after 100 ms, doubling to 2 s |
//! | `ENODEV` | no such interface (USB adapter unplugged, not created yet) | [`CanSendError::NoSuchInterface`]; same reopen backoff (a re-plugged adapter gets a new ifindex, so reopen by name) |
//! | error frame `CAN_ERR_BUSOFF` | controller bus-off | [`BusState::BusOff`], logged; a full queue then reads [`CanSendError::BusOff`] and is not waited on |
//! | error frame `CAN_ERR_RESTARTED` | the kernel restarted the controller | back to [`BusState::Active`], logged |
//!
//! Bus-off recovery is the kernel's job: set `restart-ms` on the interface, e.g.
//! `ip link set can0 type can bitrate 500000 restart-ms 100` (hardware/ has the systemd unit).
//! Without it a bus-off controller stays off until someone runs
//! `ip link set can0 type can restart`; busbar does not restart it itself (that needs netlink
//! and `CAP_NET_ADMIN`, and the interface settings belong to the system, not to busbar).
//!
//! The socket is opened with the error mask `CAN_ERR_BUSOFF | CAN_ERR_CRTL | CAN_ERR_RESTARTED`
//! and a receive filter that passes only standard data frames with id 0x305, so the receive
//! queue holds what busbar reads and nothing else. No netlink: `open("vcan0")` needs only the
//! `can-raw` kernel module.

use std::future::Future;
use std::io;
use std::time::Duration;

use tokio::time::Instant;

use super::episode::{self, Episode, Fault};
use super::frame::CanFrame;
use super::transport::{BusState, CanOpenError, CanSendError, CanTransport, RxEvent, KEEPALIVE_ID};
use crate::serial::Backoff;

/// Error classes the socket asks the kernel for (linux/can/error.h).
pub const ERROR_MASK: u32 = libc::CAN_ERR_BUSOFF | libc::CAN_ERR_CRTL | libc::CAN_ERR_RESTARTED;

/// Received frames the link looks at per send before giving up draining (a busy bus must not
/// turn a send into a long read loop; the rest waits for [`SocketCanLink::recv`]).
const DRAIN_LIMIT: usize = 32;

/// What a raw socket hands up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawRx {
    /// A standard data frame.
    Data(CanFrame),
    /// A kernel error frame: the class bits of its id (`CAN_ERR_*`) and its data.
    Error { class: u32, data: [u8; 8] },
    /// Anything else (remote, extended): ignored.
    Other,
}

/// A bound, non-blocking CAN socket.
pub trait RawCanSocket: Send {
    /// Queue one frame without waiting. `ENOBUFS`/`EAGAIN` mean "queue full, try again".
    fn try_send(&mut self, frame: &CanFrame) -> io::Result<()>;
    /// One received item if one is waiting, else `Ok(None)`; never waits.
    fn try_recv(&mut self) -> io::Result<Option<RawRx>>;
    /// Wait for the next received item. Must be cancel-safe.
    fn recv(&mut self) -> impl Future<Output = io::Result<RawRx>> + Send;
}

/// Opens [`RawCanSocket`]s by interface name.
pub trait RawOpener: Send {
    type Socket: RawCanSocket;
    fn open(&mut self, interface: &str) -> io::Result<Self::Socket>;
}

/// How long one frame set may wait for room in a full transmit queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Wait before the first retry of a frame; doubles per retry of that frame.
    pub first_delay: Duration,
    /// Longest single wait.
    pub max_delay: Duration,
    /// Total waiting one `send_all` may do, over all its frames. The next wait that would
    /// cross it is not taken: the set fails with [`CanSendError::QueueFull`] instead.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    /// 1 ms doubling to 16 ms, 50 ms per set: a 500 kbit/s bus drains about four 8-byte frames
    /// per millisecond, so a burst that overran the 10-frame queue goes out after the first
    /// retry or two; 50 ms is 5 % of the default 1 s interval and a tenth of the shortest
    /// cadence the scheduler keeps (500 ms), so a stuck queue delays the daemon by at most that
    /// per set.
    fn default() -> Self {
        Self {
            first_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(16),
            budget: Duration::from_millis(50),
        }
    }
}

/// The controller state an error frame reports, if it reports one we track.
pub fn bus_state_from_error(class: u32, data: &[u8; 8]) -> Option<BusState> {
    if class & libc::CAN_ERR_BUSOFF != 0 {
        return Some(BusState::BusOff);
    }
    if class & libc::CAN_ERR_RESTARTED != 0 {
        return Some(BusState::Active);
    }
    if class & libc::CAN_ERR_CRTL != 0 {
        // The CAN_ERR_CRTL_* status bits are C ints in libc.
        let status = i32::from(data[1]);
        let passive = libc::CAN_ERR_CRTL_RX_PASSIVE | libc::CAN_ERR_CRTL_TX_PASSIVE;
        let warning = libc::CAN_ERR_CRTL_RX_WARNING | libc::CAN_ERR_CRTL_TX_WARNING;
        if status & passive != 0 {
            return Some(BusState::Passive);
        }
        if status & warning != 0 {
            return Some(BusState::Warning);
        }
        if status & libc::CAN_ERR_CRTL_ACTIVE != 0 {
            return Some(BusState::Active);
        }
    }
    // Overflows, unspecified controller trouble, classes not asked for: no state change.
    None
}

/// What an errno means for the link.
fn classify(e: &io::Error) -> Fault {
    match e.raw_os_error() {
        Some(libc::ENOBUFS) | Some(libc::EAGAIN) | Some(libc::EINTR) => Fault::QueueFull,
        Some(libc::ENETDOWN) => Fault::InterfaceDown,
        Some(libc::ENODEV) | Some(libc::ENXIO) => Fault::NoSuchInterface,
        Some(_) => Fault::Io,
        None => match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Fault::QueueFull,
            _ => Fault::Io,
        },
    }
}

/// Why the socket is closed, kept to answer sends while the reopen backoff runs.
#[derive(Clone, Copy, Debug)]
struct Closed {
    fault: Fault,
    os_code: Option<i32>,
    kind: io::ErrorKind,
}

/// A SocketCAN interface, opened on demand and reopened after failures.
pub struct SocketCanLink<O: RawOpener = KernelOpener> {
    interface: String,
    opener: O,
    socket: Option<O::Socket>,
    /// While closed: why, and not before when to open again.
    closed: Option<Closed>,
    retry_at: Option<Instant>,
    backoff: Backoff,
    retry: RetryPolicy,
    episode: Episode,
    bus_state: BusState,
    last_keepalive: Option<std::time::Instant>,
}

impl SocketCanLink<KernelOpener> {
    /// The kernel's SocketCAN interface `interface` (`can0`, `vcan0`). Opens nothing yet.
    pub fn new(interface: impl Into<String>) -> Self {
        Self::with_opener(interface, KernelOpener)
    }
}

impl<O: RawOpener> SocketCanLink<O> {
    /// Reopen backoff: 100 ms doubling to 2 s. A `can0` brought back up is used again within
    /// 2 s, well inside the few seconds Venus waits before losing the battery (victron-can.md
    /// §3.7); a missing adapter costs one failed `open` per 2 s.
    pub fn reopen_backoff() -> Backoff {
        Backoff::new(Duration::from_millis(100), Duration::from_secs(2))
    }

    pub fn with_opener(interface: impl Into<String>, opener: O) -> Self {
        Self {
            interface: interface.into(),
            opener,
            socket: None,
            closed: None,
            retry_at: None,
            backoff: Self::reopen_backoff(),
            retry: RetryPolicy::default(),
            episode: Episode::new(),
            bus_state: BusState::Active,
            last_keepalive: None,
        }
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    pub fn interface(&self) -> &str {
        &self.interface
    }

    pub fn is_open(&self) -> bool {
        self.socket.is_some()
    }

    /// Open the socket now (whatever the backoff says), or report why not. A failure is
    /// logged (once per episode) and schedules the next attempt like any other; sends keep
    /// retrying on their own.
    pub fn try_open(&mut self) -> Result<(), CanOpenError> {
        if self.socket.is_some() {
            return Ok(());
        }
        let now = Instant::now();
        match self.opener.open(&self.interface) {
            Ok(socket) => {
                self.opened(socket);
                Ok(())
            }
            Err(source) => {
                let err = self.close_after(now, source);
                Err(match err {
                    CanSendError::NoSuchInterface { interface } => {
                        CanOpenError::NoSuchInterface { interface }
                    }
                    other => CanOpenError::Socket {
                        interface: self.interface.clone(),
                        source: io::Error::other(other.to_string()),
                    },
                })
            }
        }
    }

    fn opened(&mut self, socket: O::Socket) {
        self.socket = Some(socket);
        self.closed = None;
        self.retry_at = None;
        // A fresh socket has seen no error frame yet.
        self.bus_state = BusState::Active;
        tracing::debug!(can = %self.interface, "CAN socket open");
    }

    /// Have an open socket, opening one if the backoff allows.
    fn ensure_open(&mut self, now: Instant) -> Result<(), CanSendError> {
        if self.socket.is_some() {
            return Ok(());
        }
        if let Some(at) = self.retry_at {
            if now < at {
                return Err(self.still_closed());
            }
        }
        match self.opener.open(&self.interface) {
            Ok(socket) => {
                self.opened(socket);
                Ok(())
            }
            Err(source) => Err(self.close_after(now, source)),
        }
    }

    /// The error for a send while the socket is closed and the backoff runs: the one that
    /// closed it (not logged again: same episode).
    fn still_closed(&mut self) -> CanSendError {
        let closed = self.closed.unwrap_or(Closed {
            fault: Fault::Io,
            os_code: None,
            kind: io::ErrorKind::NotConnected,
        });
        let source = match closed.os_code {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::from(closed.kind),
        };
        let err = self.error(closed.fault, source);
        // Counts as a failed send of the episode under way.
        let _ = self.episode.failed(err.fault(), Instant::now().into_std());
        err
    }

    fn error(&self, fault: Fault, source: io::Error) -> CanSendError {
        let interface = self.interface.clone();
        match fault {
            Fault::InterfaceDown => CanSendError::InterfaceDown { interface },
            Fault::NoSuchInterface => CanSendError::NoSuchInterface { interface },
            Fault::BusOff => CanSendError::BusOff { interface },
            Fault::QueueFull | Fault::Io => CanSendError::Io {
                target: interface,
                source,
            },
        }
    }

    /// A hard error: close, schedule the reopen, log once.
    fn close_after(&mut self, now: Instant, source: io::Error) -> CanSendError {
        let mut fault = classify(&source);
        if fault == Fault::QueueFull {
            // EAGAIN from open or recv is no queue: just an I/O error.
            fault = Fault::Io;
        }
        self.closed = Some(Closed {
            fault,
            os_code: source.raw_os_error(),
            kind: source.kind(),
        });
        self.socket = None;
        self.retry_at = Some(now + self.backoff.failed());
        let err = self.error(fault, source);
        self.note_failure(&err, now);
        err
    }

    fn note_failure(&mut self, err: &CanSendError, now: Instant) {
        if let Some(change) = self.episode.failed(err.fault(), now.into_std()) {
            episode::log(&self.interface, change, Some(err));
        }
    }

    fn note_success(&mut self, now: Instant) {
        self.backoff.succeeded();
        if let Some(change) = self.episode.succeeded(now.into_std()) {
            episode::log(&self.interface, change, None);
        }
    }

    /// Look at what was received since the last call, without waiting.
    fn drain(&mut self, now: Instant) {
        for _ in 0..DRAIN_LIMIT {
            let Some(socket) = self.socket.as_mut() else {
                return;
            };
            match socket.try_recv() {
                Ok(Some(rx)) => {
                    let _ = self.absorb(rx, now);
                }
                Ok(None) => return,
                // A pending socket error (ENETDOWN after the interface went down) is read here
                // once; the send that follows tells whether it still holds.
                Err(e) => {
                    tracing::debug!(can = %self.interface, "receive: {e}");
                    return;
                }
            }
        }
    }

    /// Update keep-alive and bus state from one received item.
    fn absorb(&mut self, rx: RawRx, now: Instant) -> Option<RxEvent> {
        match rx {
            RawRx::Data(frame) if frame.id() == KEEPALIVE_ID => {
                self.last_keepalive = Some(now.into_std());
                if self.bus_state == BusState::BusOff {
                    // Receiving means the controller is back on the bus.
                    self.set_bus_state(BusState::Active);
                }
                Some(RxEvent::Keepalive(frame))
            }
            RawRx::Data(_) | RawRx::Other => None,
            RawRx::Error { class, data } => {
                let state = bus_state_from_error(class, &data)?;
                (state != self.bus_state).then(|| {
                    self.set_bus_state(state);
                    RxEvent::BusState(state)
                })
            }
        }
    }

    fn set_bus_state(&mut self, state: BusState) {
        let was = std::mem::replace(&mut self.bus_state, state);
        if was == state {
            return;
        }
        let can = &self.interface;
        match state {
            BusState::BusOff => tracing::warn!(
                can = %can,
                "{can}: controller bus-off (too many bus errors: wiring, termination, bit rate?); \
                 the kernel restarts it after restart-ms (`ip link set {can} type can restart-ms 100`)"
            ),
            BusState::Passive => tracing::warn!(
                can = %can,
                "{can}: controller error-passive (nobody acknowledging? GX unplugged?)"
            ),
            BusState::Warning => tracing::info!(can = %can, "{can}: controller error warning"),
            BusState::Active => {
                tracing::info!(can = %can, "{can}: controller error-active again (was {was:?})")
            }
        }
    }

    async fn send_frames(&mut self, frames: &[CanFrame]) -> Result<(), CanSendError> {
        let start = Instant::now();
        self.drain(start);
        self.ensure_open(start)?;
        // Known trouble: do not wait for a queue that will not drain.
        let fail_fast =
            self.bus_state == BusState::BusOff || self.episode.current() == Some(Fault::QueueFull);
        let deadline = if fail_fast {
            start
        } else {
            start + self.retry.budget
        };
        let mut attempts: u32 = 0;
        for frame in frames {
            let mut delay = self.retry.first_delay;
            loop {
                let Some(socket) = self.socket.as_mut() else {
                    // Opened above; only close_after() closes it, and it returns.
                    return Err(self.still_closed());
                };
                attempts = attempts.saturating_add(1);
                let source = match socket.try_send(frame) {
                    Ok(()) => break,
                    Err(e) => e,
                };
                let now = Instant::now();
                if classify(&source) != Fault::QueueFull {
                    return Err(self.close_after(now, source));
                }
                if now + delay > deadline {
                    let err = if self.bus_state == BusState::BusOff {
                        CanSendError::BusOff {
                            interface: self.interface.clone(),
                        }
                    } else {
                        CanSendError::QueueFull {
                            interface: self.interface.clone(),
                            attempts,
                            waited: now - start,
                        }
                    };
                    self.note_failure(&err, now);
                    return Err(err);
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(self.retry.max_delay);
            }
        }
        self.note_success(Instant::now());
        Ok(())
    }

    async fn next_event(&mut self) -> RxEvent {
        loop {
            let now = Instant::now();
            if self.socket.is_none() {
                if let Some(at) = self.retry_at.filter(|at| now < *at) {
                    tokio::time::sleep_until(at).await;
                    continue;
                }
                if self.ensure_open(now).is_err() {
                    if self.retry_at.is_none_or(|at| at <= now) {
                        // Cannot happen (a failed open always sets a later retry_at); never spin.
                        self.retry_at = Some(now + Duration::from_millis(100));
                    }
                    continue;
                }
            }
            let Some(socket) = self.socket.as_mut() else {
                continue;
            };
            match socket.recv().await {
                Ok(rx) => {
                    if let Some(event) = self.absorb(rx, Instant::now()) {
                        return event;
                    }
                }
                Err(e) if classify(&e) == Fault::QueueFull => {
                    // EAGAIN/EINTR on a read: nothing there after all.
                    tokio::task::yield_now().await;
                }
                Err(e) => {
                    let _ = self.close_after(Instant::now(), e);
                }
            }
        }
    }
}

impl<O: RawOpener> CanTransport for SocketCanLink<O> {
    /// At most [`RetryPolicy::budget`] of waiting for queue room, plus one `open` if the
    /// reopen backoff is due; while the socket is closed and the backoff runs, returns at once.
    fn send_all(
        &mut self,
        frames: &[CanFrame],
    ) -> impl Future<Output = Result<(), CanSendError>> + Send {
        self.send_frames(frames)
    }

    /// Keep-alives and bus-state changes. Reopens a closed socket when the backoff allows, so
    /// it keeps listening even while nothing is sent.
    fn recv(&mut self) -> impl Future<Output = RxEvent> + Send {
        self.next_event()
    }

    fn last_keepalive(&self) -> Option<std::time::Instant> {
        self.last_keepalive
    }

    fn bus_state(&self) -> BusState {
        self.bus_state
    }
}

/// Opens real SocketCAN sockets (socketcan 4.x, Tokio). Call inside a Tokio runtime with I/O
/// enabled: socketcan registers the socket with the runtime's reactor.
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelOpener;

/// A real, bound, non-blocking SocketCAN socket.
#[derive(Debug)]
pub struct KernelSocket(::socketcan::tokio::CanSocket);

impl RawOpener for KernelOpener {
    type Socket = KernelSocket;

    fn open(&mut self, interface: &str) -> io::Result<KernelSocket> {
        use ::socketcan::{CanFilter, SocketOptions};
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(io::Error::other(
                "the SocketCAN transport needs a Tokio runtime",
            ));
        }
        // Resolves the name first (ENODEV when missing), then socket(AF_CAN) and bind.
        let socket = ::socketcan::tokio::CanSocket::open(interface)?;
        socket.set_error_filter(ERROR_MASK)?;
        // Standard data frames with id 0x305 only (EFF and RTR flags in the mask must be 0).
        let mask = libc::CAN_SFF_MASK | libc::CAN_EFF_FLAG | libc::CAN_RTR_FLAG;
        socket.set_filters(&[CanFilter::new(u32::from(KEEPALIVE_ID), mask)])?;
        Ok(KernelSocket(socket))
    }
}

fn to_kernel(frame: &CanFrame) -> io::Result<::socketcan::CanFrame> {
    use ::socketcan::{EmbeddedFrame, StandardId};
    StandardId::new(frame.id())
        .and_then(|id| ::socketcan::CanFrame::new(id, frame.data()))
        // CanFrame guarantees an 11-bit id and at most 8 bytes; kept as an error, not a panic.
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("{frame:?}")))
}

fn from_kernel(frame: ::socketcan::CanFrame) -> RawRx {
    use ::socketcan::{EmbeddedFrame, Id};
    match frame {
        ::socketcan::CanFrame::Data(d) => match d.id() {
            Id::Standard(id) => CanFrame::new(id.as_raw(), d.data())
                .map(RawRx::Data)
                .unwrap_or(RawRx::Other),
            Id::Extended(_) => RawRx::Other,
        },
        ::socketcan::CanFrame::Error(e) => {
            let mut data = [0u8; 8];
            let bytes = e.data();
            let n = bytes.len().min(8);
            data[..n].copy_from_slice(&bytes[..n]);
            RawRx::Error {
                class: e.error_bits(),
                data,
            }
        }
        ::socketcan::CanFrame::Remote(_) => RawRx::Other,
    }
}

impl RawCanSocket for KernelSocket {
    fn try_send(&mut self, frame: &CanFrame) -> io::Result<()> {
        // Non-blocking: ENOBUFS/EAGAIN come back at once and the link decides how to wait.
        // (socketcan's async write_frame would wait for writability, which never comes while
        // nobody acknowledges on the bus.)
        self.0.try_write_frame(to_kernel(frame)?)
    }

    fn try_recv(&mut self) -> io::Result<Option<RawRx>> {
        match self.0.try_read_frame() {
            Ok(frame) => Ok(Some(from_kernel(frame))),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn recv(&mut self) -> io::Result<RawRx> {
        self.0.read_frame().await.map(from_kernel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_frames_map_to_bus_states() {
        let none = [0u8; 8];
        assert_eq!(
            bus_state_from_error(libc::CAN_ERR_BUSOFF, &none),
            Some(BusState::BusOff)
        );
        assert_eq!(
            bus_state_from_error(libc::CAN_ERR_RESTARTED, &none),
            Some(BusState::Active)
        );
        let mut d = [0u8; 8];
        // What can_change_state() sends: CRTL | CNT, data[1] = RX_WARNING | TX_WARNING.
        d[1] = (libc::CAN_ERR_CRTL_RX_WARNING | libc::CAN_ERR_CRTL_TX_WARNING) as u8;
        assert_eq!(
            bus_state_from_error(libc::CAN_ERR_CRTL | libc::CAN_ERR_CNT, &d),
            Some(BusState::Warning)
        );
        d[1] = libc::CAN_ERR_CRTL_TX_PASSIVE as u8;
        assert_eq!(
            bus_state_from_error(libc::CAN_ERR_CRTL, &d),
            Some(BusState::Passive)
        );
        d[1] = libc::CAN_ERR_CRTL_ACTIVE as u8;
        assert_eq!(
            bus_state_from_error(libc::CAN_ERR_CRTL, &d),
            Some(BusState::Active)
        );
        d[1] = libc::CAN_ERR_CRTL_RX_OVERFLOW as u8;
        assert_eq!(bus_state_from_error(libc::CAN_ERR_CRTL, &d), None);
        assert_eq!(bus_state_from_error(libc::CAN_ERR_ACK, &none), None);
    }

    #[test]
    fn errnos_classify() {
        let e = io::Error::from_raw_os_error;
        assert_eq!(classify(&e(libc::ENOBUFS)), Fault::QueueFull);
        assert_eq!(classify(&e(libc::EAGAIN)), Fault::QueueFull);
        assert_eq!(classify(&e(libc::ENETDOWN)), Fault::InterfaceDown);
        assert_eq!(classify(&e(libc::ENODEV)), Fault::NoSuchInterface);
        assert_eq!(classify(&e(libc::EAFNOSUPPORT)), Fault::Io);
        assert_eq!(
            classify(&io::Error::from(io::ErrorKind::WouldBlock)),
            Fault::QueueFull
        );
    }

    #[test]
    fn frames_convert_both_ways() {
        let f = CanFrame::new(0x305, &[0; 8]).unwrap();
        let k = to_kernel(&f).unwrap();
        assert_eq!(from_kernel(k), RawRx::Data(f));
        let e = ::socketcan::CanErrorFrame::new_error(libc::CAN_ERR_BUSOFF, &[]).unwrap();
        assert_eq!(
            from_kernel(::socketcan::CanFrame::Error(e)),
            RawRx::Error {
                class: libc::CAN_ERR_BUSOFF,
                data: [0; 8]
            }
        );
    }
}
