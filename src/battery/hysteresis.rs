//! Hysteresis for the limit tables: a backlash ("play") on the value a table looks at.
//!
//! The effective value follows the measured one at once toward the severe end, and toward the
//! comfortable end only once the measured value is more than `width` away from it. So a limit
//! that went down stays down until the value has moved back past threshold − width: a cell that
//! reached 3.55 V (0 A) gets its 2 A back only below 3.52 V with 30 mV of hysteresis, however
//! long it hovers between. The same operator serves step and linear tables.

use super::limits_config::Worse;

/// The held effective value of one quantity of one pack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Backlash {
    worse: Worse,
    /// Effective value, in the quantity's units (mV, %, 0.1 °C). `None` before the first reading.
    held: Option<i32>,
}

impl Backlash {
    pub(crate) const fn new(worse: Worse) -> Self {
        Self { worse, held: None }
    }

    /// Feed the measured value; returns the effective value the table should use.
    pub(crate) fn update(&mut self, measured: i32, width: i32) -> i32 {
        let effective = match (self.held, self.worse) {
            (None, _) => measured,
            // Worse when high: never below the measured value, never more than `width` above.
            (Some(held), Worse::High) => measured.max(held.min(measured.saturating_add(width))),
            (Some(held), Worse::Low) => measured.min(held.max(measured.saturating_sub(width))),
        };
        self.held = Some(effective);
        effective
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_at_once_toward_severe() {
        let mut b = Backlash::new(Worse::High);
        assert_eq!(b.update(3300, 30), 3300);
        assert_eq!(b.update(3560, 30), 3560);
        let mut b = Backlash::new(Worse::Low);
        assert_eq!(b.update(3000, 30), 3000);
        assert_eq!(b.update(2650, 30), 2650);
    }

    #[test]
    fn comes_back_only_by_more_than_the_width() {
        let mut b = Backlash::new(Worse::High);
        b.update(3550, 30);
        assert_eq!(b.update(3540, 30), 3550);
        assert_eq!(b.update(3520, 30), 3550); // exactly threshold − width: still held
        assert_eq!(b.update(3519, 30), 3549); // past it: released, lagging by the width
        let mut b = Backlash::new(Worse::Low);
        b.update(10, 2);
        assert_eq!(b.update(12, 2), 10);
        assert_eq!(b.update(13, 2), 11);
    }

    #[test]
    fn zero_width_is_no_hysteresis() {
        let mut b = Backlash::new(Worse::High);
        b.update(3550, 0);
        assert_eq!(b.update(3549, 0), 3549);
    }
}
