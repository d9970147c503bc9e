//! "Cut at once, rise slowly" (DESIGN.md rule 5) for one limit: a lower target is taken in the
//! same tick; a higher one is approached at a bounded rate, measured with the injected time
//! between ticks.

use std::time::Instant;

/// A rate-limited value (mA for CCL/DCL, mV for CVL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ramp {
    /// Units per second the value may rise.
    rate_per_s: u64,
    state: Option<State>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct State {
    value: u32,
    /// Where the current rise started. The ceiling is measured from here rather than added up
    /// tick by tick, so that frequent ticks (each allowing less than one unit) still rise.
    anchor_at: Instant,
    anchor_value: u32,
}

impl Ramp {
    pub(crate) const fn new(rate_per_s: u64) -> Self {
        Self {
            rate_per_s,
            state: None,
        }
    }

    /// The value last returned, if any.
    pub(crate) fn value(&self) -> Option<u32> {
        self.state.map(|s| s.value)
    }

    /// Move toward `target` at `now`. The first call takes the target as it is: the first frame
    /// after start-up carries the limits as computed (a DCL ramping up from 0 would shut an
    /// island inverter down at every restart, victron-can.md §3.7).
    pub(crate) fn step(&mut self, target: u32, now: Instant) -> u32 {
        let Some(state) = &mut self.state else {
            self.set(target, now);
            return target;
        };
        if target <= state.value {
            // Cut at once.
            *state = State {
                value: target,
                anchor_at: now,
                anchor_value: target,
            };
            return target;
        }
        let elapsed = now.saturating_duration_since(state.anchor_at);
        // Floor: never more than the rate allows. u128 holds rate × nanoseconds for any span.
        let allowance = u128::from(self.rate_per_s) * elapsed.as_nanos() / 1_000_000_000;
        let ceiling = u128::from(state.anchor_value) + allowance;
        let value = u32::try_from(ceiling.min(u128::from(target))).unwrap_or(target);
        // Never go down while rising (the anchor may lie below the value after a cut).
        let value = value.max(state.value);
        state.value = value;
        if value == target {
            // Arrived: the next rise is measured from here.
            state.anchor_at = now;
            state.anchor_value = value;
        }
        value
    }

    /// Set the value outright (shutdown: CCL = DCL = 0).
    pub(crate) fn set(&mut self, value: u32, now: Instant) {
        self.state = Some(State {
            value,
            anchor_at: now,
            anchor_value: value,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn first_value_is_taken_as_it_is() {
        let t0 = Instant::now();
        let mut r = Ramp::new(10_000);
        assert_eq!(r.step(70_000, t0), 70_000);
    }

    #[test]
    fn falls_at_once_and_rises_at_the_rate() {
        let t0 = Instant::now();
        let mut r = Ramp::new(10_000); // 10 A/s in mA
        r.step(60_000, t0);
        assert_eq!(r.step(2_000, t0 + Duration::from_millis(1)), 2_000);
        let t1 = t0 + Duration::from_millis(1);
        assert_eq!(r.step(60_000, t1 + Duration::from_secs(1)), 12_000);
        assert_eq!(r.step(60_000, t1 + Duration::from_millis(2500)), 27_000);
        assert_eq!(r.step(60_000, t1 + Duration::from_secs(10)), 60_000);
    }

    #[test]
    fn many_tiny_ticks_still_rise() {
        let t0 = Instant::now();
        let mut r = Ramp::new(10_000);
        r.step(0, t0);
        let mut now = t0;
        for _ in 0..10_000 {
            now += Duration::from_micros(50); // 0.5 mA each: less than one unit
            r.step(60_000, now);
        }
        // 0.5 s at 10 A/s.
        assert_eq!(r.value(), Some(5_000));
    }

    #[test]
    fn a_target_that_rises_after_arriving_ramps_from_there() {
        let t0 = Instant::now();
        let mut r = Ramp::new(10_000);
        r.step(10_000, t0);
        assert_eq!(r.step(10_000, t0 + Duration::from_secs(30)), 10_000);
        // The quiet 30 s before do not count: only the time since the last tick.
        assert_eq!(r.step(60_000, t0 + Duration::from_secs(31)), 20_000);
    }

    #[test]
    fn time_going_backwards_does_not_rise() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let mut r = Ramp::new(10_000);
        r.step(0, t0);
        assert_eq!(r.step(60_000, t0 - Duration::from_secs(5)), 0);
    }
}
