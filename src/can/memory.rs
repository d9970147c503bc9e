//! An in-memory CAN bus for tests: a [`MemoryTransport`] records every frame set sent through
//! it; a [`MemoryBus`] handle (cheap to clone, shared with the transport) inspects them, makes
//! the next sends fail, and injects frames "from the inverter" (0x305) for the receive path.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tokio::sync::Notify;

use super::episode::Fault;
use super::frame::CanFrame;
use super::transport::{CanSendError, CanTransport, RxEvent, KEEPALIVE_ID};

/// The name in errors from a memory bus.
pub const MEMORY_INTERFACE: &str = "memory";

#[derive(Debug, Default)]
struct State {
    sets: Vec<Vec<CanFrame>>,
    fail_next: u32,
    fail_with: Option<Fault>,
    failed: u32,
    inbox: VecDeque<CanFrame>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    inbox_ready: Notify,
}

/// The test's handle on the bus.
#[derive(Clone, Debug, Default)]
pub struct MemoryBus {
    shared: Arc<Shared>,
}

impl MemoryBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// A transport sending onto this bus.
    pub fn transport(&self) -> MemoryTransport {
        MemoryTransport {
            bus: self.clone(),
            last_keepalive: None,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock has failed already; the data is plain.
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Every frame sent, in order.
    pub fn frames(&self) -> Vec<CanFrame> {
        self.state().sets.iter().flatten().copied().collect()
    }

    /// Every successful `send_all`, one entry per call.
    pub fn sets(&self) -> Vec<Vec<CanFrame>> {
        self.state().sets.clone()
    }

    /// How many sends failed on purpose so far.
    pub fn failed_sends(&self) -> u32 {
        self.state().failed
    }

    /// Forget what was sent.
    pub fn clear(&self) {
        self.state().sets.clear();
    }

    /// Make the next `n` calls of `send_all` fail with `fault`, sending nothing.
    pub fn fail_next(&self, n: u32, fault: Fault) {
        let mut s = self.state();
        s.fail_next = n;
        s.fail_with = Some(fault);
    }

    /// A frame arrives from the other end (the inverter's 0x305).
    pub fn inject(&self, frame: CanFrame) {
        self.state().inbox.push_back(frame);
        // A stored permit if nobody waits yet: no wake-up is lost.
        self.shared.inbox_ready.notify_one();
    }
}

/// The error a memory bus produces for `fault`.
pub fn injected_error(fault: Fault) -> CanSendError {
    let interface = MEMORY_INTERFACE.to_owned();
    match fault {
        Fault::QueueFull => CanSendError::QueueFull {
            interface,
            attempts: 1,
            waited: std::time::Duration::ZERO,
        },
        Fault::InterfaceDown => CanSendError::InterfaceDown { interface },
        Fault::NoSuchInterface => CanSendError::NoSuchInterface { interface },
        Fault::BusOff => CanSendError::BusOff { interface },
        Fault::Io => CanSendError::Io {
            target: interface,
            source: io::Error::other("injected failure"),
        },
    }
}

/// The transport end of a [`MemoryBus`].
#[derive(Debug)]
pub struct MemoryTransport {
    bus: MemoryBus,
    last_keepalive: Option<Instant>,
}

impl MemoryTransport {
    pub fn bus(&self) -> &MemoryBus {
        &self.bus
    }

    fn send_now(&mut self, frames: &[CanFrame]) -> Result<(), CanSendError> {
        let mut s = self.bus.state();
        if s.fail_next > 0 {
            s.fail_next -= 1;
            s.failed = s.failed.saturating_add(1);
            return Err(injected_error(s.fail_with.unwrap_or(Fault::Io)));
        }
        s.sets.push(frames.to_vec());
        Ok(())
    }

    async fn next_event(&mut self) -> RxEvent {
        loop {
            let next = self.bus.state().inbox.pop_front();
            match next {
                Some(frame) if frame.id() == KEEPALIVE_ID => {
                    self.last_keepalive = Some(Instant::now());
                    return RxEvent::Keepalive(frame);
                }
                Some(_) => {}
                None => self.bus.shared.inbox_ready.notified().await,
            }
        }
    }
}

impl CanTransport for MemoryTransport {
    fn send_all(
        &mut self,
        frames: &[CanFrame],
    ) -> impl Future<Output = Result<(), CanSendError>> + Send {
        std::future::ready(self.send_now(frames))
    }

    fn recv(&mut self) -> impl Future<Output = RxEvent> + Send {
        self.next_event()
    }

    fn last_keepalive(&self) -> Option<Instant> {
        self.last_keepalive
    }
}
