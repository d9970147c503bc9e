//! What is worth a log line: a pack going offline or coming back, a limit being cut and why.
//! Pure: fed with what the daemon saw, it returns events; the daemon logs them. One line per
//! change, never one per poll, so `journalctl` stays readable on a Pi that runs for months.

use std::fmt;
use std::time::{Duration, Instant};

use crate::battery::{BatteryState, CvlReason, SystemLimit};

/// One thing that changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A pack that was online (or never heard) has no valid reading younger than
    /// `offline_after`.
    PackOffline {
        name: String,
        /// How long since its last valid reading; `None` if it never answered.
        silent_for: Option<Duration>,
        /// The last reason a poll failed or a reading was rejected.
        last_problem: Option<String>,
    },
    /// A pack is heard again.
    PackOnline { name: String },
    /// CVL, CCL or DCL went down.
    LimitCut {
        limit: Limit,
        from: u32,
        to: u32,
        why: String,
    },
}

/// Which limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    Cvl,
    Ccl,
    Dcl,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::PackOffline {
                name,
                silent_for,
                last_problem,
            } => {
                write!(f, "{name} OFFLINE: ")?;
                match silent_for {
                    Some(d) => write!(f, "no valid reading for {:.1} s", d.as_secs_f64())?,
                    None => write!(f, "never answered")?,
                }
                if let Some(why) = last_problem {
                    write!(f, " (last problem: {why})")?;
                }
                write!(f, "; it contributes nothing until heard again")
            }
            Event::PackOnline { name } => write!(f, "{name} online again"),
            Event::LimitCut {
                limit,
                from,
                to,
                why,
            } => {
                let (label, unit) = match limit {
                    Limit::Cvl => ("CVL", "V"),
                    Limit::Ccl => ("CCL", "A"),
                    Limit::Dcl => ("DCL", "A"),
                };
                write!(
                    f,
                    "{label} cut {:.1} -> {:.1} {unit}: {why}",
                    f64::from(*from) / 1000.0,
                    f64::from(*to) / 1000.0
                )
            }
        }
    }
}

/// Remembers what was last reported.
#[derive(Debug)]
pub struct EventTracker {
    names: Vec<String>,
    /// Per pack: online in the last state (`None` before the first state).
    online: Vec<Option<bool>>,
    /// Per pack: the last problem seen, for the offline message.
    last_problem: Vec<Option<String>>,
    last_limits: Option<(u32, u32, u32)>,
}

impl EventTracker {
    pub fn new(names: Vec<String>) -> Self {
        let n = names.len();
        Self {
            names,
            online: vec![None; n],
            last_problem: vec![None; n],
            last_limits: None,
        }
    }

    /// A poll of `pack` failed or its reading was rejected.
    pub fn problem(&mut self, pack: usize, why: String) {
        if let Some(slot) = self.last_problem.get_mut(pack) {
            *slot = Some(why);
        }
    }

    /// The events between the previous state and `state`.
    pub fn update(&mut self, now: Instant, state: &BatteryState) -> Vec<Event> {
        let mut events = Vec::new();
        for (i, report) in state.packs.iter().enumerate() {
            let Some(was) = self.online.get_mut(i) else {
                continue;
            };
            match (*was, report.online) {
                (Some(true) | None, false) => events.push(Event::PackOffline {
                    name: self.names[i].clone(),
                    silent_for: report.last_valid.map(|t| now.saturating_duration_since(t)),
                    last_problem: self.last_problem[i].clone(),
                }),
                (Some(false), true) => events.push(Event::PackOnline {
                    name: self.names[i].clone(),
                }),
                _ => {}
            }
            if report.online {
                self.last_problem[i] = None;
            }
            *was = Some(report.online);
        }
        let now_limits = (state.cvl_mv, state.ccl_ma, state.dcl_ma);
        if let Some((cvl, ccl, dcl)) = self.last_limits {
            if now_limits.0 < cvl {
                events.push(Event::LimitCut {
                    limit: Limit::Cvl,
                    from: cvl,
                    to: now_limits.0,
                    why: self.cvl_why(state.cvl_reason),
                });
            }
            if now_limits.1 < ccl {
                events.push(Event::LimitCut {
                    limit: Limit::Ccl,
                    from: ccl,
                    to: now_limits.1,
                    why: self.why(state.charge_limit, "charge"),
                });
            }
            if now_limits.2 < dcl {
                events.push(Event::LimitCut {
                    limit: Limit::Dcl,
                    from: dcl,
                    to: now_limits.2,
                    why: self.why(state.discharge_limit, "discharge"),
                });
            }
        }
        self.last_limits = Some(now_limits);
        events
    }

    fn cvl_why(&self, reason: CvlReason) -> String {
        match reason {
            CvlReason::Phase => "charge phase changed (absorption -> float)".into(),
            CvlReason::HighCell { pack, cell, mv } => {
                let name = self.names.get(pack).map_or("?", String::as_str);
                format!(
                    "{name} cell {cell} at {:.3} V is above the high-cell limit",
                    f64::from(mv) / 1000.0
                )
            }
            CvlReason::Dvl => "held at DVL".into(),
            CvlReason::Rising { .. } => "rising".into(),
            CvlReason::NoPackOnline => "no pack online".into(),
        }
    }

    fn why(&self, limit: SystemLimit, direction: &str) -> String {
        match limit {
            SystemLimit::Pack { index, reason } => {
                let name = self.names.get(index).map_or("?", String::as_str);
                format!("{name} {direction} limited by {reason}")
            }
            SystemLimit::PackMaxima => "sum of the packs' maxima".into(),
            SystemLimit::SystemCap => "system cap".into(),
            SystemLimit::Rising { target_ma } => {
                format!("rising toward {:.1} A", f64::from(target_ma) / 1000.0)
            }
            SystemLimit::ShuttingDown => "shutting down".into(),
        }
    }
}
