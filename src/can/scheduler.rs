//! When to send what. Pure: time is passed in, nothing is sent here; the daemon asks
//! [`Scheduler::plan`] after every event (new battery state, deadline reached) and sends what the
//! [`Plan`] says. (Model: rumqttc `state.rs`, "methods only modify state, no network operations".)
//!
//! The rules:
//!
//! - **Start-up** (DESIGN.md rule 6): nothing is sent until the first battery state exists. The
//!   core returns no state until every pack answered once or `offline_after` passed; the daemon
//!   passes `None` until then, and the scheduler answers [`Plan::Nothing`] and has no deadline.
//!   The first state is sent at once as a full set, and the cadence counts from there.
//! - **Cadence**: a full frame set every `can_interval`, on a fixed grid (a late wake-up does not
//!   shift the following sets; a daemon that fell more than an interval behind, e.g. after a
//!   suspend, restarts the grid instead of sending a burst of catch-up sets).
//! - **Cut at once** (DESIGN.md rule 5): when CVL, CCL or DCL is below what was last sent, 0x351
//!   goes out alone ([`Plan::LimitsOnly`]) without waiting for the cadence. Only 0x351 because
//!   it is the only frame the GX takes limits from (victron-can.md §3.7: DVCC reads CVL/CCL/DCL),
//!   because one frame cannot be held up behind thirteen others in a full transmit queue, and
//!   because it keeps the bus quiet; alarms (0x35A) and the rest follow at the next full set,
//!   at most one interval later. The full-set grid is not moved by a cut. A limit that rose in
//!   the same state rides along in that 0x351; the core already limits how fast limits rise.
//! - **Rises wait** for the next full set.
//! - **Rate bound**: 0x351 is sent alone at most once per [`CUT_MIN_GAP`] (100 ms); the 0x351
//!   of a full set does not count, so a cut that comes right after a full set goes out at once
//!   (the lone 0x351s alone are bounded to 10/s either way). A cut inside the gap waits for its end
//!   ([`Scheduler::next_deadline`] says when) and then goes out with the newest limits. Full
//!   sets come at most once per [`MIN_INTERVAL`] (500 ms: a shorter `can_interval` is raised to
//!   it). So the bus carries at most `set_len / can_interval + 1 / CUT_MIN_GAP` frames/s: with
//!   the 14-frame Victron set at 1 s, 24 frames/s; at the 500 ms floor, 38 frames/s, however
//!   often the core cuts. A BMS flooding ~300 frames/s made Venus lose the battery about half of
//!   the time (victron-can.md §3.7, VEN #1072); 100 ms is far below DVCC's own 1 s loop, so the
//!   bound costs a cut nothing that matters.
//! - **Failed sends**: after [`Scheduler::send_failed`] the scheduler no longer knows what the
//!   GX holds, so every state counts as a cut: 0x351 is retried alone every [`CUT_MIN_GAP`]
//!   until one goes through (the transports make a retry while the interface is down cost
//!   nothing), and full sets keep their grid.

use std::time::{Duration, Instant};

use crate::battery::BatteryState;

/// Shortest time between two 0x351 sent alone (outside the cadence).
pub const CUT_MIN_GAP: Duration = Duration::from_millis(100);

/// Shortest full-set cadence the scheduler keeps, whatever `can_interval` says.
pub const MIN_INTERVAL: Duration = Duration::from_millis(500);

/// The three limits 0x351 carries that can be cut (DVL is fixed by configuration).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    pub cvl_mv: u32,
    pub ccl_ma: u32,
    pub dcl_ma: u32,
}

impl Limits {
    /// Any of the three lower than in `sent`.
    pub fn is_cut_from(&self, sent: &Limits) -> bool {
        self.cvl_mv < sent.cvl_mv || self.ccl_ma < sent.ccl_ma || self.dcl_ma < sent.dcl_ma
    }
}

impl From<&BatteryState> for Limits {
    fn from(s: &BatteryState) -> Self {
        Self {
            cvl_mv: s.cvl_mv,
            ccl_ma: s.ccl_ma,
            dcl_ma: s.dcl_ma,
        }
    }
}

/// What to send now.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Plan {
    Nothing,
    /// 0x351 alone, from the newest state: a limit was cut.
    LimitsOnly,
    /// The whole frame set, from the newest state.
    FullSet,
}

/// The frame scheduler.
#[derive(Clone, Debug)]
pub struct Scheduler {
    interval: Duration,
    cut_gap: Duration,
    /// When the next full set is due; `None` before the first state.
    next_full: Option<Instant>,
    /// When 0x351 last went out alone (a cut or a retry). The gap counts from here only: the
    /// 0x351 inside a full set does not hold back a cut that follows it.
    last_cut_at: Option<Instant>,
    /// The limits in the last 0x351 sent; `None` when unknown (nothing sent yet, or the last
    /// send failed): then any state counts as a cut.
    on_bus: Option<Limits>,
    /// A cut (or a failed send) waits for the end of the rate gap.
    cut_waiting: bool,
}

impl Scheduler {
    /// `can_interval` from `[timing]`; raised to [`MIN_INTERVAL`] if shorter.
    pub fn new(can_interval: Duration) -> Self {
        Self {
            interval: can_interval.max(MIN_INTERVAL),
            cut_gap: CUT_MIN_GAP,
            next_full: None,
            last_cut_at: None,
            on_bus: None,
            cut_waiting: false,
        }
    }

    /// Another gap between cuts (tests; a daemon keeps the default).
    pub fn with_cut_gap(mut self, gap: Duration) -> Self {
        self.cut_gap = gap;
        self
    }

    /// The full-set cadence in force (after the [`MIN_INTERVAL`] floor).
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Has the first full set been planned?
    pub fn started(&self) -> bool {
        self.next_full.is_some()
    }

    /// Decide what to send at `now`, given the newest limits (`None` until the core has a
    /// state). A `Plan` other than `Nothing` counts as sent; report a failure with
    /// [`Self::send_failed`].
    pub fn plan(&mut self, now: Instant, limits: Option<Limits>) -> Plan {
        let Some(limits) = limits else {
            // Nothing to send. Skip a set that fell due, so the deadline moves on and a daemon
            // sleeping until it does not spin.
            if let Some(due) = self.next_full.filter(|due| now >= *due) {
                self.next_full = Some(self.advance(due, now));
            }
            self.cut_waiting = false;
            return Plan::Nothing;
        };
        let plan = match self.next_full {
            None => {
                self.next_full = Some(now + self.interval);
                Plan::FullSet
            }
            Some(due) if now >= due => {
                self.next_full = Some(self.advance(due, now));
                Plan::FullSet
            }
            Some(_) => {
                let cut = match &self.on_bus {
                    None => true,
                    Some(sent) => limits.is_cut_from(sent),
                };
                if !cut {
                    self.cut_waiting = false;
                    Plan::Nothing
                } else if self.gap_over(now) {
                    Plan::LimitsOnly
                } else {
                    self.cut_waiting = true;
                    Plan::Nothing
                }
            }
        };
        if plan != Plan::Nothing {
            self.on_bus = Some(limits);
            self.cut_waiting = false;
        }
        if plan == Plan::LimitsOnly {
            self.last_cut_at = Some(now);
        }
        plan
    }

    /// [`Self::plan`] straight from the core's output.
    pub fn plan_state(&mut self, now: Instant, state: Option<&BatteryState>) -> Plan {
        self.plan(now, state.map(Limits::from))
    }

    /// The frames of the last non-`Nothing` plan did not (all) go out. The next 0x351 is
    /// retried alone after the rate gap, and again until one goes through.
    pub fn send_failed(&mut self) {
        if self.started() {
            self.on_bus = None;
            self.cut_waiting = true;
        }
    }

    /// When [`Self::plan`] should be asked next if nothing else happens (a new state should
    /// be planned at once anyway). `None` before the first state: wait for the core.
    pub fn next_deadline(&self) -> Option<Instant> {
        let full = self.next_full?;
        if !self.cut_waiting {
            return Some(full);
        }
        // A waiting cut may go at the end of the gap after the last lone 0x351; with none sent
        // yet it may go at once (the last full set, already past, says "now").
        let cut = match self.last_cut_at {
            Some(t) => t + self.cut_gap,
            None => full.checked_sub(self.interval).unwrap_or(full),
        };
        Some(cut.min(full))
    }

    fn gap_over(&self, now: Instant) -> bool {
        match self.last_cut_at {
            None => true,
            Some(t) => now >= t + self.cut_gap,
        }
    }

    fn advance(&self, due: Instant, now: Instant) -> Instant {
        let next = due + self.interval;
        if next > now {
            next
        } else {
            now + self.interval
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn limits(cvl_mv: u32, ccl_ma: u32, dcl_ma: u32) -> Option<Limits> {
        Some(Limits {
            cvl_mv,
            ccl_ma,
            dcl_ma,
        })
    }

    const BASE: Option<Limits> = Some(Limits {
        cvl_mv: 55_200,
        ccl_ma: 100_000,
        dcl_ma: 150_000,
    });

    /// A scheduler that sent its first full set at the returned instant.
    fn started() -> (Scheduler, Instant) {
        let t0 = Instant::now();
        let mut s = Scheduler::new(SECOND);
        assert_eq!(s.plan(t0, BASE), Plan::FullSet);
        (s, t0)
    }

    #[test]
    fn nothing_is_sent_before_the_first_state() {
        let t0 = Instant::now();
        let mut s = Scheduler::new(SECOND);
        for i in 0..50 {
            assert_eq!(s.plan(t0 + ms(100 * i), None), Plan::Nothing);
            assert_eq!(s.next_deadline(), None, "no deadline: wait for the core");
        }
        s.send_failed();
        assert_eq!(s.next_deadline(), None);
        let first = t0 + SECOND * 5;
        assert_eq!(
            s.plan(first, BASE),
            Plan::FullSet,
            "the first state goes out at once"
        );
        assert_eq!(
            s.next_deadline(),
            Some(first + SECOND),
            "cadence counts from there"
        );
    }

    #[test]
    fn cadence_holds_over_simulated_minutes() {
        let (mut s, t0) = started();
        let mut full_sets = 1u32;
        let mut ccl = 100_000u32;
        let mut next_state = t0 + ms(100);
        let end = t0 + SECOND * 600 - ms(500);
        // Ten minutes. A new state every ~100 ms (jittered), limits rising slowly (never cut);
        // the daemon wakes 3 ms late at each deadline.
        loop {
            let deadline = s.next_deadline().unwrap();
            let now = if deadline + ms(3) <= next_state {
                deadline + ms(3)
            } else {
                ccl += 10;
                let at = next_state;
                next_state = at + ms(97 + u64::from(ccl % 7));
                at
            };
            if now > end {
                break;
            }
            match s.plan(now, limits(55_200, ccl, 150_000)) {
                Plan::FullSet => {
                    full_sets += 1;
                    assert!(now >= deadline, "only once due");
                    // Still on the grid: a whole number of seconds from t0.
                    let next = s.next_deadline().unwrap() - t0;
                    assert_eq!(next.subsec_nanos(), 0, "{next:?}");
                }
                Plan::LimitsOnly => panic!("nothing was cut, yet 0x351 went out alone"),
                Plan::Nothing => assert!(now < deadline, "a due set was not sent"),
            }
        }
        assert_eq!(full_sets, 600, "t0 + 0 s ..= t0 + 599 s");
    }

    #[test]
    fn a_steady_state_gives_one_full_set_per_interval() {
        let (mut s, t0) = started();
        let mut sets = 1;
        for i in 1..=60_000u64 {
            // Asked every millisecond for a minute.
            match s.plan(t0 + ms(i), BASE) {
                Plan::FullSet => sets += 1,
                Plan::LimitsOnly => panic!("nothing was cut"),
                Plan::Nothing => {}
            }
        }
        assert_eq!(sets, 61, "t0, t0 + 1 s, ..., t0 + 60 s");
    }

    #[test]
    fn a_cut_goes_out_at_once_as_0x351_alone() {
        for cut in [
            limits(54_000, 100_000, 150_000),
            limits(55_200, 60_000, 150_000),
            limits(55_200, 100_000, 0),
        ] {
            let (mut s, t0) = started();
            assert_eq!(s.plan(t0 + ms(300), cut), Plan::LimitsOnly, "{cut:?}");
            assert_eq!(
                s.plan(t0 + ms(400), cut),
                Plan::Nothing,
                "already on the bus"
            );
            assert_eq!(
                s.next_deadline(),
                Some(t0 + SECOND),
                "the full-set grid does not move"
            );
            assert_eq!(s.plan(t0 + SECOND, cut), Plan::FullSet);
        }
    }

    #[test]
    fn rises_wait_for_the_cadence() {
        let (mut s, t0) = started();
        let up = limits(55_200, 110_000, 160_000);
        for i in 1..100 {
            assert_eq!(s.plan(t0 + ms(10 * i), up), Plan::Nothing);
        }
        assert_eq!(s.next_deadline(), Some(t0 + SECOND));
        assert_eq!(s.plan(t0 + SECOND, up), Plan::FullSet);
        // A cut compares with what was sent last (the risen value).
        assert_eq!(s.plan(t0 + ms(1200), BASE), Plan::LimitsOnly);
    }

    #[test]
    fn a_cut_and_a_rise_together_count_as_a_cut() {
        let (mut s, t0) = started();
        assert_eq!(
            s.plan(t0 + ms(200), limits(55_200, 0, 200_000)),
            Plan::LimitsOnly
        );
    }

    #[test]
    fn a_cut_right_after_a_full_set_goes_out_at_once() {
        let (mut s, t0) = started();
        // The full set at t0 carried 0x351; a cut 1 ms later is not held back by it.
        assert_eq!(
            s.plan(t0 + ms(1), limits(55_200, 50_000, 150_000)),
            Plan::LimitsOnly
        );
    }

    #[test]
    fn a_cut_inside_the_gap_waits_for_its_end_with_the_newest_limits() {
        let (mut s, t0) = started();
        assert_eq!(
            s.plan(t0 + ms(30), limits(55_200, 50_000, 150_000)),
            Plan::LimitsOnly
        );
        assert_eq!(
            s.plan(t0 + ms(60), limits(55_200, 40_000, 150_000)),
            Plan::Nothing
        );
        assert_eq!(s.next_deadline(), Some(t0 + ms(30) + CUT_MIN_GAP));
        assert_eq!(
            s.plan(t0 + ms(90), limits(55_200, 20_000, 150_000)),
            Plan::Nothing
        );
        assert_eq!(
            s.plan(t0 + ms(30) + CUT_MIN_GAP, limits(55_200, 20_000, 150_000)),
            Plan::LimitsOnly
        );
        assert_eq!(s.next_deadline(), Some(t0 + SECOND));
    }

    #[test]
    fn a_waiting_cut_that_was_undone_is_dropped() {
        let (mut s, t0) = started();
        let cut = limits(55_200, 50_000, 150_000);
        assert_eq!(s.plan(t0 + ms(30), cut), Plan::LimitsOnly);
        assert_eq!(
            s.plan(t0 + ms(60), limits(55_200, 20_000, 150_000)),
            Plan::Nothing
        );
        assert_eq!(s.next_deadline(), Some(t0 + ms(30) + CUT_MIN_GAP));
        // Back to what the bus already has: nothing left to send.
        assert_eq!(s.plan(t0 + ms(70), cut), Plan::Nothing);
        assert_eq!(s.next_deadline(), Some(t0 + SECOND));
        assert_eq!(s.plan(t0 + ms(30) + CUT_MIN_GAP, cut), Plan::Nothing);
    }

    #[test]
    fn cuts_every_millisecond_stay_within_the_rate_bound() {
        let (mut s, t0) = started();
        let mut last_alone: Option<Instant> = None;
        let (mut alone, mut sets) = (0u32, 1u32);
        let mut ccl = 300_000u32;
        // Ten seconds of a falling CCL, one state per millisecond (stopping just short of the
        // full set at 10 s, so a cut is left waiting).
        for i in 1..=9_950u64 {
            let now = t0 + ms(i);
            ccl -= 20;
            match s.plan(now, limits(55_200, ccl, 150_000)) {
                Plan::LimitsOnly => {
                    alone += 1;
                    if let Some(t) = last_alone {
                        assert!(now - t >= CUT_MIN_GAP, "at {i} ms");
                    }
                    last_alone = Some(now);
                }
                Plan::FullSet => sets += 1,
                Plan::Nothing => {}
            }
        }
        assert_eq!(sets, 10);
        // At most one lone 0x351 per gap: 100 in ten seconds.
        assert!((90..=100).contains(&alone), "{alone}");
        let frames_per_s = (sets * 14 + alone) / 10;
        assert!(frames_per_s <= 30, "{frames_per_s} frames/s");
        // The last cut is not lost: it goes out at the deadline.
        let deadline = s.next_deadline().unwrap();
        assert!(deadline <= t0 + ms(9_950) + CUT_MIN_GAP);
        let last = limits(55_200, ccl - 20, 150_000);
        let plan = s.plan(deadline, last);
        assert_ne!(plan, Plan::Nothing);
    }

    #[test]
    fn a_failed_send_retries_0x351_alone_after_the_gap_until_it_goes_through() {
        let (mut s, t0) = started();
        // The first full set failed: the retry may go at once.
        s.send_failed();
        assert!(s.next_deadline().unwrap() <= t0 + ms(50));
        assert_eq!(s.plan(t0 + ms(50), BASE), Plan::LimitsOnly);
        s.send_failed();
        assert_eq!(s.next_deadline(), Some(t0 + ms(50) + CUT_MIN_GAP));
        assert_eq!(
            s.plan(t0 + ms(100), BASE),
            Plan::Nothing,
            "rate bound holds"
        );
        assert_eq!(s.plan(t0 + ms(50) + CUT_MIN_GAP, BASE), Plan::LimitsOnly);
        // This one went through: quiet until the cadence.
        assert_eq!(s.next_deadline(), Some(t0 + SECOND));
        assert_eq!(s.plan(t0 + ms(500), BASE), Plan::Nothing);
        assert_eq!(s.plan(t0 + SECOND, BASE), Plan::FullSet);
    }

    #[test]
    fn a_late_wake_up_sends_one_set_not_a_burst() {
        let (mut s, t0) = started();
        let late = t0 + SECOND * 30 + ms(250);
        assert_eq!(s.plan(late, BASE), Plan::FullSet);
        assert_eq!(s.plan(late, BASE), Plan::Nothing);
        assert_eq!(s.next_deadline(), Some(late + SECOND));
    }

    #[test]
    fn a_deadline_without_a_state_moves_on() {
        let (mut s, t0) = started();
        assert_eq!(s.plan(t0 + SECOND, None), Plan::Nothing);
        assert_eq!(
            s.next_deadline(),
            Some(t0 + SECOND * 2),
            "no spin on a past deadline"
        );
    }

    #[test]
    fn the_interval_has_a_floor() {
        assert_eq!(Scheduler::new(ms(10)).interval(), MIN_INTERVAL);
        assert_eq!(Scheduler::new(SECOND * 2).interval(), SECOND * 2);
    }
}
