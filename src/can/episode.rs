//! Log once per episode: a CAN output that fails does so on every frame set (once a second, and
//! on every retry of a cut), so a log line per failure would bury everything else. An *episode*
//! runs from the first failure to the next success: its start is logged once (as a warning),
//! a change of cause inside it once more, its end once (as info, with how long it lasted and
//! how many sends failed). Pure bookkeeping; the transports turn a [`Change`] into a `tracing`
//! event with [`log`].

use std::fmt;
use std::time::{Duration, Instant};

/// What is wrong with a CAN output, without the details of one call. `Copy` and comparable, so
/// an episode can tell "the same trouble again" from "something new".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// The kernel's transmit queue stayed full (ENOBUFS) through the retry budget.
    QueueFull,
    /// The interface exists but is down (ENETDOWN).
    InterfaceDown,
    /// No such interface (ENODEV): adapter unplugged, driver not loaded, wrong name.
    NoSuchInterface,
    /// The controller is bus-off (error frame `CAN_ERR_BUSOFF`).
    BusOff,
    /// Any other I/O error (a candump file or pipe, a kernel without CAN support, ...).
    Io,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fault::QueueFull => "transmit queue full",
            Fault::InterfaceDown => "interface down",
            Fault::NoSuchInterface => "no such interface",
            Fault::BusOff => "bus-off",
            Fault::Io => "I/O error",
        })
    }
}

/// What a failure or success changed, if anything worth a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// The first failure after a success (or ever).
    Started(Fault),
    /// Still failing, for another reason now.
    Changed { from: Fault, to: Fault },
    /// The first success after an episode.
    Recovered {
        fault: Fault,
        lasted: Duration,
        failed_sends: u64,
    },
}

/// One output's episode state.
#[derive(Clone, Debug, Default)]
pub struct Episode {
    current: Option<Current>,
}

#[derive(Clone, Copy, Debug)]
struct Current {
    fault: Fault,
    since: Instant,
    failed_sends: u64,
}

impl Episode {
    pub fn new() -> Self {
        Self::default()
    }

    /// The cause of the episode under way, if any.
    pub fn current(&self) -> Option<Fault> {
        self.current.map(|c| c.fault)
    }

    /// A send failed with `fault`.
    pub fn failed(&mut self, fault: Fault, now: Instant) -> Option<Change> {
        match &mut self.current {
            None => {
                self.current = Some(Current {
                    fault,
                    since: now,
                    failed_sends: 1,
                });
                Some(Change::Started(fault))
            }
            Some(c) => {
                c.failed_sends = c.failed_sends.saturating_add(1);
                if c.fault == fault {
                    None
                } else {
                    let from = c.fault;
                    c.fault = fault;
                    Some(Change::Changed { from, to: fault })
                }
            }
        }
    }

    /// A send went through.
    pub fn succeeded(&mut self, now: Instant) -> Option<Change> {
        self.current.take().map(|c| Change::Recovered {
            fault: c.fault,
            lasted: now.saturating_duration_since(c.since),
            failed_sends: c.failed_sends,
        })
    }
}

/// Emit `change` for the output named `target`; `error` is the failure that caused it (its
/// `Display` names the interface and the cause).
pub fn log(target: &str, change: Change, error: Option<&dyn fmt::Display>) {
    match (change, error) {
        (Change::Started(_), Some(e)) => {
            tracing::warn!(can = %target, "{e}; retrying, logged again when it works")
        }
        (Change::Started(fault), None) => {
            tracing::warn!(can = %target, "{target}: {fault}; retrying, logged again when it works")
        }
        (Change::Changed { from, .. }, Some(e)) => {
            tracing::warn!(can = %target, "{e} (was: {from})")
        }
        (Change::Changed { from, to }, None) => {
            tracing::warn!(can = %target, "{target}: {to} (was: {from})")
        }
        (
            Change::Recovered {
                fault,
                lasted,
                failed_sends,
            },
            _,
        ) => tracing::info!(
            can = %target,
            "{target}: sending again after {} ms of {fault} ({failed_sends} failed sends)",
            lasted.as_millis()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_start_one_end_per_episode() {
        let t0 = Instant::now();
        let mut e = Episode::new();
        assert_eq!(e.succeeded(t0), None, "no episode, nothing recovered");
        assert_eq!(
            e.failed(Fault::InterfaceDown, t0),
            Some(Change::Started(Fault::InterfaceDown))
        );
        for i in 1..100 {
            assert_eq!(
                e.failed(Fault::InterfaceDown, t0 + Duration::from_millis(i)),
                None
            );
        }
        assert_eq!(e.current(), Some(Fault::InterfaceDown));
        assert_eq!(
            e.failed(Fault::NoSuchInterface, t0 + Duration::from_secs(1)),
            Some(Change::Changed {
                from: Fault::InterfaceDown,
                to: Fault::NoSuchInterface
            })
        );
        assert_eq!(
            e.succeeded(t0 + Duration::from_secs(2)),
            Some(Change::Recovered {
                fault: Fault::NoSuchInterface,
                lasted: Duration::from_secs(2),
                failed_sends: 101
            })
        );
        assert_eq!(e.current(), None);
        assert_eq!(e.succeeded(t0 + Duration::from_secs(3)), None);
        assert_eq!(
            e.failed(Fault::QueueFull, t0 + Duration::from_secs(4)),
            Some(Change::Started(Fault::QueueFull)),
            "a new episode is logged again"
        );
    }
}
