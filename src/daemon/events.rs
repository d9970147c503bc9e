//! What is worth a log line: a pack going offline or coming back, a limit being cut and why.
//! Pure: fed with what the daemon saw, it returns events; the daemon logs them. One line per
//! change, never one per poll, so `journalctl` stays readable on a Pi that runs for months.

use std::fmt;
use std::time::{Duration, Instant};

use crate::battery::{describe, BatteryState, CvlReason};

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
    /// Per pack: the last problem seen since its last valid reading, for the offline message.
    last_problem: Vec<Option<String>>,
    /// Per pack: the newest valid reading seen in a state, to tell when it was heard again.
    last_valid: Vec<Option<Instant>>,
    last_limits: Option<(u32, u32, u32)>,
}

impl EventTracker {
    pub fn new(names: Vec<String>) -> Self {
        let n = names.len();
        Self {
            names,
            online: vec![None; n],
            last_problem: vec![None; n],
            last_valid: vec![None; n],
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
            // A valid reading makes older problems history. Only that: the problems that take a
            // pack offline all happen while it still counts as online, and the offline message
            // must still be able to name the last of them.
            if report.last_valid != self.last_valid[i] {
                self.last_valid[i] = report.last_valid;
                self.last_problem[i] = None;
            }
            *was = Some(report.online);
        }
        let now_limits = (state.cvl_mv, state.ccl_ma, state.dcl_ma);
        if let Some(was) = self.last_limits {
            for (limit, from, to) in [
                (Limit::Cvl, was.0, now_limits.0),
                (Limit::Ccl, was.1, now_limits.1),
                (Limit::Dcl, was.2, now_limits.2),
            ] {
                if to < from {
                    let why = self.reason(limit, state);
                    events.push(Event::LimitCut {
                        limit,
                        from,
                        to,
                        why,
                    });
                }
            }
        }
        self.last_limits = Some(now_limits);
        events
    }

    /// Why `limit` is where it is in `state`, in words.
    fn reason(&self, limit: Limit, state: &BatteryState) -> String {
        match limit {
            // A cut while CVL follows its phase can only be absorption giving way to float.
            Limit::Cvl if state.cvl_reason == CvlReason::Phase => {
                "charge phase changed (absorption -> float)".into()
            }
            Limit::Cvl => describe::cvl_reason(state),
            Limit::Ccl => describe::system_limit(state, state.charge_limit, "charge"),
            Limit::Dcl => describe::system_limit(state, state.discharge_limit, "discharge"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::battery::settings::tests::seed;
    use crate::battery::Battery;
    use crate::pack::PackSnapshot;

    /// The seed set-up's offline_after.
    const OFFLINE_AFTER: Duration = Duration::from_secs(3);

    /// The seed set-up cut to `n` packs (60 A / 70 A each).
    fn battery_of(n: usize, t0: Instant) -> Battery {
        let mut settings = seed();
        settings.packs.truncate(n);
        assert_eq!(settings.offline_after, OFFLINE_AFTER);
        Battery::new(settings, t0).unwrap()
    }

    fn battery(t0: Instant) -> Battery {
        battery_of(2, t0)
    }

    fn healthy() -> PackSnapshot {
        let mut p = PackSnapshot {
            cell_voltages_mv: std::iter::repeat_n(3300, 16).collect(),
            temperatures_dc: [200, 210].into_iter().collect(),
            soc_pct: 50,
            capacity_ah: 280.0,
            charge_mosfet: true,
            discharge_mosfet: true,
            ..PackSnapshot::default()
        };
        p.voltage_mv = p.cell_sum_mv();
        p
    }

    #[test]
    fn a_pack_going_silent_is_one_offline_event_with_its_last_problem_and_a_cut() {
        let t0 = Instant::now();
        let mut b = battery(t0);
        let mut tracker = EventTracker::new(vec!["pack1".into(), "pack2".into()]);
        b.accept(0, t0, healthy()).unwrap();
        b.accept(1, t0, healthy()).unwrap();
        let first = b.tick(t0).unwrap();
        assert_eq!(tracker.update(t0, &first), vec![]);

        // pack2 stops answering; 4 s later it is offline.
        tracker.problem(1, "no complete answer within 800 ms".into());
        let t4 = t0 + Duration::from_secs(4);
        b.accept(0, t4, healthy()).unwrap();
        let state = b.tick(t4).unwrap();
        let events = tracker.update(t4, &state);
        assert_eq!(events.len(), 3, "{events:?}");
        assert_eq!(
            events[0].to_string(),
            "pack2 OFFLINE: no valid reading for 4.0 s (last problem: no complete answer within 800 ms); it contributes nothing until heard again"
        );
        assert_eq!(
            events[1].to_string(),
            "CCL cut 120.0 -> 60.0 A: pack2 charge limited by being offline"
        );
        assert!(matches!(
            events[2],
            Event::LimitCut {
                limit: Limit::Dcl,
                from: 140_000,
                to: 70_000,
                ..
            }
        ));

        // Still offline: nothing new. Back: one online event, and a rise is no event.
        let t5 = t4 + Duration::from_secs(1);
        b.accept(0, t5, healthy()).unwrap();
        assert_eq!(tracker.update(t5, &b.tick(t5).unwrap()), vec![]);
        let t6 = t5 + Duration::from_secs(1);
        b.accept(0, t6, healthy()).unwrap();
        b.accept(1, t6, healthy()).unwrap();
        assert_eq!(
            tracker.update(t6, &b.tick(t6).unwrap()),
            vec![Event::PackOnline {
                name: "pack2".into()
            }]
        );
    }

    #[test]
    fn a_pack_that_never_answered_is_reported_as_such() {
        let t0 = Instant::now();
        let mut b = battery(t0);
        let mut tracker = EventTracker::new(vec!["pack1".into(), "pack2".into()]);
        b.accept(0, t0, healthy()).unwrap();
        // Start-up waits offline_after for pack2.
        let t3 = t0 + Duration::from_secs(3);
        b.accept(0, t3, healthy()).unwrap();
        let events = tracker.update(t3, &b.tick(t3).unwrap());
        assert_eq!(
            events,
            vec![Event::PackOffline {
                name: "pack2".into(),
                silent_for: None,
                last_problem: None
            }]
        );
        assert!(events[0].to_string().contains("never answered"));
    }

    /// As the daemon does: a poll's outcome, then a tick and an update.
    fn step(
        battery: &mut Battery,
        tracker: &mut EventTracker,
        now: Instant,
        outcome: Option<Result<PackSnapshot, &str>>,
    ) -> Vec<Event> {
        match outcome {
            Some(Ok(snapshot)) => battery.accept(0, now, snapshot).unwrap(),
            Some(Err(why)) => tracker.problem(0, why.to_string()),
            None => {}
        }
        let state = battery.tick(now).expect("a state after the first reading");
        tracker.update(now, &state)
    }

    #[test]
    fn going_offline_names_the_last_problem_seen_while_it_still_counted_as_online() {
        let t0 = Instant::now();
        let mut battery = battery_of(1, t0);
        let mut tracker = EventTracker::new(vec!["pack1".into()]);
        assert!(step(&mut battery, &mut tracker, t0, Some(Ok(healthy()))).is_empty());
        // Every poll fails (a bad checksum) while the pack is within offline_after, with
        // timer ticks in between, as in the daemon's loop.
        for k in 1..=5u32 {
            let poll = t0 + Duration::from_millis(500) * k;
            let why = format!("bad frame {k}: checksum");
            let events = step(&mut battery, &mut tracker, poll, Some(Err(&why)));
            assert!(events.is_empty(), "{events:?}");
            let tick = poll + Duration::from_millis(100);
            assert!(step(&mut battery, &mut tracker, tick, None).is_empty());
        }
        // It goes offline on a timer tick, not on a poll.
        let events = step(
            &mut battery,
            &mut tracker,
            t0 + OFFLINE_AFTER + Duration::from_millis(50),
            None,
        );
        let offline = events
            .iter()
            .find(|e| matches!(e, Event::PackOffline { .. }))
            .unwrap_or_else(|| panic!("{events:?}"));
        assert_eq!(
            offline,
            &Event::PackOffline {
                name: "pack1".into(),
                silent_for: Some(OFFLINE_AFTER + Duration::from_millis(50)),
                last_problem: Some("bad frame 5: checksum".into()),
            }
        );
        assert!(offline
            .to_string()
            .contains("(last problem: bad frame 5: checksum)"));
    }

    #[test]
    fn a_valid_reading_makes_earlier_problems_history() {
        let t0 = Instant::now();
        let mut battery = battery_of(1, t0);
        let mut tracker = EventTracker::new(vec!["pack1".into()]);
        step(&mut battery, &mut tracker, t0, Some(Ok(healthy())));
        let t1 = t0 + Duration::from_millis(500);
        step(&mut battery, &mut tracker, t1, Some(Err("timeout")));
        let t2 = t0 + Duration::from_secs(1);
        step(&mut battery, &mut tracker, t2, Some(Ok(healthy())));
        // Silent from here on: no problem is reported, and the old one is not dragged up.
        let events = step(
            &mut battery,
            &mut tracker,
            t2 + OFFLINE_AFTER + Duration::from_millis(50),
            None,
        );
        assert!(
            events.contains(&Event::PackOffline {
                name: "pack1".into(),
                silent_for: Some(OFFLINE_AFTER + Duration::from_millis(50)),
                last_problem: None,
            }),
            "{events:?}"
        );
        // Heard again: one event.
        let t3 = t2 + Duration::from_secs(5);
        let events = step(&mut battery, &mut tracker, t3, Some(Ok(healthy())));
        assert_eq!(
            events,
            vec![Event::PackOnline {
                name: "pack1".into()
            }]
        );
    }
}
