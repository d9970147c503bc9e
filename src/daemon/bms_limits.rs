//! A pack configured to carry more current than its own BMS allows: warn once per pack and
//! direction, when the BMS's settings (jk-pb settings frame) are first heard. The core already
//! holds the pack's contribution at the BMS's limit (`LimitReason::BmsLimit`); the warning tells
//! the user their configuration says otherwise.

use crate::config::PackConfig;
use crate::pack::BmsSettings;

/// Remembers which warnings were given.
#[derive(Debug, Default)]
pub struct BmsLimitWarnings {
    /// Per pack: (charge warned, discharge warned).
    warned: Vec<(bool, bool)>,
}

impl BmsLimitWarnings {
    pub fn new(packs: usize) -> Self {
        Self {
            warned: vec![(false, false); packs],
        }
    }

    /// The warnings `settings` raise for `pack` that were not given before.
    pub fn check(
        &mut self,
        pack: usize,
        config: &PackConfig,
        settings: Option<&BmsSettings>,
    ) -> Vec<String> {
        let (Some(s), Some(warned)) = (settings, self.warned.get_mut(pack)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let amps = |ma: u32| f64::from(ma) / 1000.0;
        for (configured, own, done, what) in [
            (
                config.max_charge_current,
                s.max_charge_current_ma,
                &mut warned.0,
                "charge",
            ),
            (
                config.max_discharge_current,
                s.max_discharge_current_ma,
                &mut warned.1,
                "discharge",
            ),
        ] {
            // 0 = the BMS did not say.
            if !*done && own > 0 && configured > amps(own) {
                *done = true;
                out.push(format!(
                    "pack {}: max_{what}_current = {configured} A is above its BMS's own {what} over-current protection of {} A; busbar holds the pack's share at that, set max_{what}_current to at most {} A to match",
                    config.name,
                    amps(own),
                    amps(own)
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Protocol;

    fn pack(charge: f64, discharge: f64) -> PackConfig {
        PackConfig {
            name: "p1".into(),
            port: "/dev/null".into(),
            protocol: Protocol::JkPb,
            address: Some(1),
            max_charge_current: charge,
            max_discharge_current: discharge,
        }
    }

    #[test]
    fn warns_once_per_direction_and_only_above_the_bms_limit() {
        let s = BmsSettings {
            cells: 16,
            capacity_mah: 280_000,
            max_charge_current_ma: 100_000,
            max_discharge_current_ma: 150_000,
        };
        let mut w = BmsLimitWarnings::new(2);
        assert!(w.check(0, &pack(100.0, 150.0), Some(&s)).is_empty());
        assert!(w.check(0, &pack(60.0, 70.0), None).is_empty());
        let first = w.check(1, &pack(120.0, 200.0), Some(&s));
        assert_eq!(first.len(), 2, "{first:?}");
        assert!(first[0].contains("max_charge_current = 120 A"), "{first:?}");
        assert!(first[0].contains("100 A"), "{first:?}");
        assert!(first[1].contains("150 A"), "{first:?}");
        assert!(w.check(1, &pack(120.0, 200.0), Some(&s)).is_empty());
        // An unknown pack index is ignored, not a panic.
        assert!(w.check(9, &pack(120.0, 200.0), Some(&s)).is_empty());
    }
}
