//! The measurements of the online packs folded into one battery: SOC, voltage, current,
//! temperature, extreme cells and sensors, installed capacity. Integer arithmetic throughout, so
//! the result does not depend on the order the packs are added in (only which of two equal
//! extremes is named does: the lower pack index).

use super::pack_limits::Observed;
use crate::pack::PackSnapshot;

/// The temperature band in which neither charging nor discharging is of concern, 0.1 °C. The
/// battery temperature reported (0x356) is the sensor furthest outside it; inside it, the
/// highest. Why: chargers that take the battery temperature from the GX (DVCC shared
/// temperature sense) apply their own low-temperature cut-off and compensation to it, so a cold
/// sensor must not be hidden behind a warm average, nor a hot one behind a cold minimum.
pub const COMFORT_LOW_DC: i16 = 100;
pub const COMFORT_HIGH_DC: i16 = 300;

/// A capacity above this (1 000 000 Ah, in mAh) is taken as this: it keeps the weighted SOC sum
/// within u64 whatever a BMS reports.
const MAX_CAPACITY_MAH: u64 = 1_000_000_000;

/// One cell of one pack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CellExtreme {
    /// Pack index (config order, from 0).
    pub pack: usize,
    /// Cell number, from 1.
    pub cell: usize,
    pub mv: u16,
}

/// One battery sensor of one pack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TemperatureExtreme {
    /// Pack index (config order, from 0).
    pub pack: usize,
    /// Sensor number, from 1 (T1..Tn).
    pub sensor: usize,
    /// 0.1 °C.
    pub dc: i16,
}

/// The folded measurements; only built with at least one online pack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Measured {
    /// 0.01 %, capacity-weighted.
    pub soc_centi_pct: u16,
    /// Mean of the packs, mV.
    pub voltage_mv: u32,
    /// Sum of the packs, mA, positive = charging.
    pub current_ma: i32,
    /// See [`COMFORT_LOW_DC`]; `None` when no online pack reports a sensor.
    pub temperature_dc: Option<i16>,
    pub min_cell: CellExtreme,
    pub max_cell: CellExtreme,
    pub min_temperature: Option<TemperatureExtreme>,
    pub max_temperature: Option<TemperatureExtreme>,
    /// Sum of the online packs' nominal capacity, whole Ah.
    pub installed_capacity_ah: u32,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Aggregator {
    packs: u64,
    capacity_mah: u64,
    soc_times_capacity: u64,
    soc_sum: u64,
    voltage_sum: u64,
    current_sum: i64,
    min_cell: Option<CellExtreme>,
    max_cell: Option<CellExtreme>,
    min_temperature: Option<TemperatureExtreme>,
    max_temperature: Option<TemperatureExtreme>,
}

fn capacity_mah(ah: f32) -> u64 {
    if ah.is_finite() && ah > 0.0 {
        // Float to int `as` saturates; the min keeps the sums in range.
        ((f64::from(ah) * 1000.0).round() as u64).min(MAX_CAPACITY_MAH)
    } else {
        0
    }
}

/// `a / b` rounded half up; `b > 0`.
fn div_round(a: u64, b: u64) -> u64 {
    (a + b / 2) / b
}

impl Aggregator {
    /// Add one online pack.
    pub(crate) fn add(&mut self, pack: usize, snapshot: &PackSnapshot, seen: &Observed) {
        self.packs += 1;
        let capacity = capacity_mah(snapshot.capacity_ah);
        let soc = u64::from(snapshot.soc_pct.min(100));
        self.capacity_mah += capacity;
        self.soc_times_capacity += soc * capacity;
        self.soc_sum += soc;
        self.voltage_sum += u64::from(snapshot.voltage_mv);
        self.current_sum += i64::from(snapshot.current_ma);
        // Strict comparisons keep the first (lowest pack index) of equals; within a pack
        // `Observed` already named the first cell / sensor of equals.
        let (cell, mv) = seen.low_cell;
        if self.min_cell.is_none_or(|m| mv < m.mv) {
            self.min_cell = Some(CellExtreme { pack, cell, mv });
        }
        let (cell, mv) = seen.high_cell;
        if self.max_cell.is_none_or(|m| mv > m.mv) {
            self.max_cell = Some(CellExtreme { pack, cell, mv });
        }
        if let Some((sensor, dc)) = seen.coldest {
            if self.min_temperature.is_none_or(|m| dc < m.dc) {
                self.min_temperature = Some(TemperatureExtreme { pack, sensor, dc });
            }
        }
        if let Some((sensor, dc)) = seen.hottest {
            if self.max_temperature.is_none_or(|m| dc > m.dc) {
                self.max_temperature = Some(TemperatureExtreme { pack, sensor, dc });
            }
        }
    }

    /// The battery; `None` without any pack.
    pub(crate) fn finish(&self) -> Option<Measured> {
        let (Some(min_cell), Some(max_cell)) = (self.min_cell, self.max_cell) else {
            return None;
        };
        let packs = self.packs.max(1);
        // Weighted by capacity; if no pack reports one, the plain mean.
        let soc_centi = if self.capacity_mah > 0 {
            div_round(self.soc_times_capacity * 100, self.capacity_mah)
        } else {
            div_round(self.soc_sum * 100, packs)
        };
        let temperature_dc = match (self.min_temperature, self.max_temperature) {
            (Some(lo), Some(hi)) => {
                let cold = i32::from(COMFORT_LOW_DC) - i32::from(lo.dc);
                let hot = i32::from(hi.dc) - i32::from(COMFORT_HIGH_DC);
                Some(if cold > 0 && cold > hot { lo.dc } else { hi.dc })
            }
            _ => None,
        };
        Some(Measured {
            // SOCs are ≤ 100 %, so their weighted mean is ≤ 10 000.
            soc_centi_pct: u16::try_from(soc_centi.min(10_000)).unwrap_or(10_000),
            voltage_mv: u32::try_from(div_round(self.voltage_sum, packs)).unwrap_or(u32::MAX),
            current_ma: i32::try_from(self.current_sum).unwrap_or(if self.current_sum < 0 {
                i32::MIN
            } else {
                i32::MAX
            }),
            temperature_dc,
            min_cell,
            max_cell,
            min_temperature: self.min_temperature,
            max_temperature: self.max_temperature,
            installed_capacity_ah: u32::try_from(div_round(self.capacity_mah, 1000))
                .unwrap_or(u32::MAX),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(cells: &[u16], soc: u8, capacity_ah: f32, temps: &[i16]) -> PackSnapshot {
        PackSnapshot {
            cell_voltages_mv: cells.iter().copied().collect(),
            temperatures_dc: temps.iter().copied().collect(),
            voltage_mv: cells.iter().map(|&c| u32::from(c)).sum(),
            soc_pct: soc,
            capacity_ah,
            current_ma: 1_000,
            ..PackSnapshot::default()
        }
    }

    fn add(a: &mut Aggregator, index: usize, p: PackSnapshot) {
        a.add(index, &p, &Observed::of(&p));
    }

    #[test]
    fn soc_is_weighted_by_capacity() {
        let mut a = Aggregator::default();
        add(&mut a, 0, pack(&[3300; 4], 100, 300.0, &[200]));
        add(&mut a, 1, pack(&[3300; 4], 50, 100.0, &[200]));
        let m = a.finish().unwrap();
        assert_eq!(m.soc_centi_pct, 8750);
        assert_eq!(m.installed_capacity_ah, 400);
        assert_eq!(m.current_ma, 2_000);
        assert_eq!(m.voltage_mv, 13_200);
    }

    #[test]
    fn without_capacities_soc_is_the_plain_mean() {
        let mut a = Aggregator::default();
        add(&mut a, 0, pack(&[3300; 4], 90, 0.0, &[]));
        add(&mut a, 1, pack(&[3300; 4], 81, f32::NAN, &[]));
        let m = a.finish().unwrap();
        assert_eq!(m.soc_centi_pct, 8550);
        assert_eq!(m.temperature_dc, None);
    }

    #[test]
    fn extremes_name_pack_and_cell_and_the_first_of_equals() {
        let mut a = Aggregator::default();
        add(&mut a, 0, pack(&[3300, 3310, 3290], 50, 280.0, &[150, 180]));
        add(&mut a, 1, pack(&[3290, 3350, 3300], 50, 280.0, &[-15, 180]));
        let m = a.finish().unwrap();
        assert_eq!(
            m.min_cell,
            CellExtreme {
                pack: 0,
                cell: 3,
                mv: 3290
            }
        );
        assert_eq!(
            m.max_cell,
            CellExtreme {
                pack: 1,
                cell: 2,
                mv: 3350
            }
        );
        assert_eq!(
            m.min_temperature,
            Some(TemperatureExtreme {
                pack: 1,
                sensor: 1,
                dc: -15
            })
        );
        assert_eq!(
            m.max_temperature,
            Some(TemperatureExtreme {
                pack: 0,
                sensor: 2,
                dc: 180
            })
        );
    }

    #[test]
    fn reported_temperature_is_the_one_furthest_outside_the_comfort_band() {
        let t = |temps: &[i16]| {
            let mut a = Aggregator::default();
            add(&mut a, 0, pack(&[3300], 50, 280.0, temps));
            a.finish().unwrap().temperature_dc
        };
        assert_eq!(t(&[150, 250]), Some(250)); // inside: the highest
        assert_eq!(t(&[-20, 250]), Some(-20)); // a cold sensor is not hidden
        assert_eq!(t(&[-20, 450]), Some(450)); // 15 °C too hot beats 12 °C too cold
        assert_eq!(t(&[50, 320]), Some(50)); // 5 °C too cold beats 2 °C too hot
    }

    #[test]
    fn nothing_added_is_nothing_measured() {
        assert_eq!(Aggregator::default().finish(), None);
    }
}
