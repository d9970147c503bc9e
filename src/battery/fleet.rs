//! The packs as the core knows them: the last VALID reading of each and when it came, whether
//! the pack is online, and what it may contribute (DESIGN.md rules 1 and 2).

use std::time::{Duration, Instant};

use super::alarms::{CHARGE_BLOCKING, DISCHARGE_BLOCKING};
use super::pack_limits::{LimitReason, Observed, PackLimit, PackRules, RuleMemory};
use super::settings::PackSettings;
use crate::pack::{Alarms, Implausible, PackSnapshot};

/// Why a reading was not taken. A rejected reading changes nothing: the pack keeps its last
/// valid reading and goes offline when that one is too old (DESIGN.md rule 1).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("pack index {index} is not configured ({packs} packs)")]
    UnknownPack { index: usize, packs: usize },
    #[error("implausible reading: {0}")]
    Implausible(#[from] Implausible),
    /// Older than the reading already held (readings handed in out of order).
    #[error("reading is older than the one already held")]
    Stale,
}

/// A reading that passed `check_plausible`, with the time it was received.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Reading {
    pub snapshot: PackSnapshot,
    pub received: Instant,
}

#[derive(Clone, Debug, Default)]
struct Slot {
    reading: Option<Reading>,
    /// Hysteresis state of the pack's limit tables: core state, not part of the snapshot.
    memory: RuleMemory,
}

/// One pack's standing this tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PackEvaluation {
    pub online: bool,
    /// The reading's values, when online.
    pub seen: Option<Observed>,
    pub charge: PackLimit,
    pub discharge: PackLimit,
}

#[derive(Clone, Debug)]
pub(crate) struct Fleet {
    slots: Vec<Slot>,
    cells: usize,
    offline_after: Duration,
}

impl Fleet {
    pub(crate) fn new(packs: usize, cells: usize, offline_after: Duration) -> Self {
        Self {
            slots: vec![Slot::default(); packs],
            cells,
            offline_after,
        }
    }

    /// Take a reading if it is valid (DESIGN.md rule 1); otherwise leave the pack as it was.
    pub(crate) fn accept(
        &mut self,
        index: usize,
        now: Instant,
        snapshot: PackSnapshot,
    ) -> Result<(), Rejected> {
        let packs = self.slots.len();
        let slot = self
            .slots
            .get_mut(index)
            .ok_or(Rejected::UnknownPack { index, packs })?;
        snapshot.check_plausible(self.cells)?;
        if slot.reading.as_ref().is_some_and(|r| now < r.received) {
            return Err(Rejected::Stale);
        }
        slot.reading = Some(Reading {
            snapshot,
            received: now,
        });
        Ok(())
    }

    /// Every pack has given at least one valid reading (DESIGN.md rule 6).
    pub(crate) fn all_answered(&self) -> bool {
        self.slots.iter().all(|s| s.reading.is_some())
    }

    /// The last valid reading, online or not.
    pub(crate) fn reading(&self, index: usize) -> Option<&Reading> {
        self.slots.get(index)?.reading.as_ref()
    }

    /// The reading if the pack is online: younger than `offline_after` (DESIGN.md rule 1).
    pub(crate) fn online_reading(&self, index: usize, now: Instant) -> Option<&Reading> {
        self.reading(index)
            .filter(|r| now.saturating_duration_since(r.received) < self.offline_after)
    }

    /// What pack `index` may contribute now (DESIGN.md rule 2): nothing when offline, nothing in
    /// a direction its MOSFET is off or an alarm blocks, else the smallest of its rules.
    pub(crate) fn evaluate(
        &mut self,
        index: usize,
        now: Instant,
        rules: &PackRules,
        pack: &PackSettings,
    ) -> PackEvaluation {
        let offline = PackEvaluation {
            online: false,
            seen: None,
            charge: PackLimit::blocked(LimitReason::Offline),
            discharge: PackLimit::blocked(LimitReason::Offline),
        };
        let offline_after = self.offline_after;
        let Some(slot) = self.slots.get_mut(index) else {
            return offline;
        };
        let Some(reading) = slot
            .reading
            .as_ref()
            .filter(|r| now.saturating_duration_since(r.received) < offline_after)
        else {
            return offline;
        };
        let snapshot = &reading.snapshot;
        let seen = rules.see(snapshot);
        let effective = rules.observe(&mut slot.memory, &seen);
        let own = snapshot.bms_settings.as_ref();
        let charge = gate(snapshot.alarms & CHARGE_BLOCKING, snapshot.charge_mosfet)
            .unwrap_or_else(|| {
                rules
                    .charge(&seen, &effective, pack.max_charge_current_ma)
                    .within_bms_limit(own.map(|s| s.max_charge_current_ma))
            });
        let discharge = gate(
            snapshot.alarms & DISCHARGE_BLOCKING,
            snapshot.discharge_mosfet,
        )
        .unwrap_or_else(|| {
            rules
                .discharge(&seen, &effective, pack.max_discharge_current_ma)
                .within_bms_limit(own.map(|s| s.max_discharge_current_ma))
        });
        PackEvaluation {
            online: true,
            seen: Some(seen),
            charge,
            discharge,
        }
    }
}

/// A blocking alarm, then a MOSFET that is off, stop one direction of a pack. The alarm is named
/// first because it says why the BMS switched the MOSFET off.
fn gate(blocking: Alarms, mosfet_on: bool) -> Option<PackLimit> {
    if !blocking.is_empty() {
        Some(PackLimit::blocked(LimitReason::Alarm(blocking)))
    } else if !mosfet_on {
        Some(PackLimit::blocked(LimitReason::MosfetOff))
    } else {
        None
    }
}
