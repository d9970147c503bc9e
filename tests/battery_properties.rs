//! Property tests of the battery core over random fleets and random histories of readings
//! (silent packs, implausible readings, MOSFETs off, alarms, cells and temperatures anywhere).

mod support;

use std::time::{Duration, Instant};

use busbar::battery::{Battery, BatterySettings, BatteryState, PackSettings};
use busbar::pack::{Alarms, PackSnapshot};
use proptest::prelude::*;

const CELLS: usize = 8;

#[derive(Clone, Debug)]
struct Reading {
    base_mv: u16,
    spread_mv: Vec<i16>,
    soc: u8,
    temperatures_dc: Vec<i16>,
    charge_mosfet: bool,
    discharge_mosfet: bool,
    alarms: u32,
    implausible: bool,
    capacity_ah: f32,
    current_ma: i32,
}

#[derive(Clone, Debug)]
struct Step {
    dt_ms: u64,
    /// One per pack, in config order; `None` = the pack says nothing this step.
    readings: Vec<Option<Reading>>,
}

#[derive(Clone, Debug)]
struct Fleet {
    packs: Vec<(u32, u32)>,
    caps: (u32, u32),
    steps: Vec<Step>,
}

fn reading() -> impl Strategy<Value = Reading> {
    (
        2500u16..3700,
        prop::collection::vec(-150i16..150, CELLS),
        0u8..=100,
        prop::collection::vec(-300i16..700, 0..3),
        prop::bool::weighted(0.85),
        prop::bool::weighted(0.85),
        prop_oneof![
            4 => Just(0u32),
            1 => any::<u32>().prop_map(|bits| bits & Alarms::all().bits()),
        ],
        prop::bool::weighted(0.1),
        prop_oneof![Just(280.0f32), Just(100.0), Just(0.0)],
        -200_000i32..200_000,
    )
        .prop_map(
            |(base_mv, spread_mv, soc, temperatures_dc, cm, dm, alarms, implausible, cap, i)| {
                Reading {
                    base_mv,
                    spread_mv,
                    soc,
                    temperatures_dc,
                    charge_mosfet: cm,
                    discharge_mosfet: dm,
                    alarms,
                    implausible,
                    capacity_ah: cap,
                    current_ma: i,
                }
            },
        )
}

fn fleet() -> impl Strategy<Value = Fleet> {
    (1usize..=6)
        .prop_flat_map(|n| {
            (
                prop::collection::vec((0u32..=120, 0u32..=120), n),
                (0u32..=600, 0u32..=600),
                prop::collection::vec(
                    (
                        0u64..2500,
                        prop::collection::vec(prop::option::weighted(0.8, reading()), n),
                    )
                        .prop_map(|(dt_ms, readings)| Step { dt_ms, readings }),
                    1..40,
                ),
            )
        })
        .prop_map(|(packs, caps, steps)| Fleet { packs, caps, steps })
}

fn settings(f: &Fleet, order: &[usize]) -> BatterySettings {
    let mut s = support::settings(0, CELLS, 0, 0);
    s.max_charge_current_ma = f.caps.0 * 1000;
    s.max_discharge_current_ma = f.caps.1 * 1000;
    s.packs = order
        .iter()
        .map(|&i| PackSettings {
            name: format!("p{i}"),
            max_charge_current_ma: f.packs[i].0 * 1000,
            max_discharge_current_ma: f.packs[i].1 * 1000,
        })
        .collect();
    s
}

fn snapshot(r: &Reading) -> PackSnapshot {
    let mut p = PackSnapshot {
        cell_voltages_mv: r
            .spread_mv
            .iter()
            .map(|&d| (i32::from(r.base_mv) + i32::from(d)) as u16)
            .collect(),
        temperatures_dc: r.temperatures_dc.iter().copied().collect(),
        soc_pct: r.soc,
        capacity_ah: r.capacity_ah,
        current_ma: r.current_ma,
        charge_mosfet: r.charge_mosfet,
        discharge_mosfet: r.discharge_mosfet,
        alarms: Alarms::from_bits_truncate(r.alarms),
        ..PackSnapshot::default()
    };
    if r.implausible {
        p.cell_voltages_mv[0] = 900;
    }
    p.voltage_mv = p.cell_sum_mv();
    p
}

/// Run the history with the packs listed in `order` (order[k] = original index of config
/// entry k); the states, one per step (`None` while silent at start-up).
fn run(
    f: &Fleet,
    order: &[usize],
    check: impl FnMut(
        &Battery,
        Instant,
        &BatteryState,
        Option<&BatteryState>,
        Duration,
        &[Option<&Reading>],
    ),
) -> Vec<Option<BatteryState>> {
    run_from(Instant::now(), f, order, check)
}

fn run_from(
    t0: Instant,
    f: &Fleet,
    order: &[usize],
    mut check: impl FnMut(
        &Battery,
        Instant,
        &BatteryState,
        Option<&BatteryState>,
        Duration,
        &[Option<&Reading>],
    ),
) -> Vec<Option<BatteryState>> {
    let mut b = Battery::new(settings(f, order), t0).unwrap();
    let mut now = t0;
    let mut out: Vec<Option<BatteryState>> = Vec::new();
    let mut last: Option<(Instant, BatteryState)> = None;
    for step in &f.steps {
        now += Duration::from_millis(step.dt_ms);
        let readings: Vec<Option<&Reading>> =
            order.iter().map(|&i| step.readings[i].as_ref()).collect();
        for (k, r) in readings.iter().enumerate() {
            if let Some(r) = r {
                let _ = b.accept(k, now, snapshot(r));
            }
        }
        let state = b.tick(now);
        if let Some(s) = &state {
            let (prev, dt) = match &last {
                Some((t, p)) => (Some(p), now - *t),
                None => (None, Duration::ZERO),
            };
            check(&b, now, s, prev, dt, &readings);
            last = Some((now, s.clone()));
        }
        out.push(state);
    }
    out
}

/// What may rise in `dt` at 10 A/s (the default ramp), in mA, rounded up.
fn allowance(dt: Duration) -> u64 {
    (u128::from(10_000u64) * dt.as_nanos()).div_ceil(1_000_000_000) as u64
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn ccl_and_dcl_never_exceed_the_online_contributions_nor_the_cap(f in fleet()) {
        let order: Vec<usize> = (0..f.packs.len()).collect();
        run(&f, &order, |_, _, s, _, _, _| {
            let charge: u64 = s.packs.iter().filter(|p| p.online).map(|p| u64::from(p.charge.current_ma)).sum();
            let discharge: u64 = s.packs.iter().filter(|p| p.online).map(|p| u64::from(p.discharge.current_ma)).sum();
            assert!(u64::from(s.ccl_ma) <= charge.min(u64::from(f.caps.0) * 1000), "{s:?}");
            assert!(u64::from(s.dcl_ma) <= discharge.min(u64::from(f.caps.1) * 1000), "{s:?}");
            for (k, p) in s.packs.iter().enumerate() {
                // No pack ever gives more than its own max.
                assert!(p.charge.current_ma <= f.packs[k].0 * 1000);
                assert!(p.discharge.current_ma <= f.packs[k].1 * 1000);
            }
        });
    }

    #[test]
    fn an_offline_or_mosfet_off_pack_never_contributes(f in fleet()) {
        let order: Vec<usize> = (0..f.packs.len()).collect();
        run(&f, &order, |b, now, s, _, _, _| {
            for (k, p) in s.packs.iter().enumerate() {
                assert_eq!(p.online, b.is_online(k, now));
                if !p.online {
                    assert_eq!((p.charge.current_ma, p.discharge.current_ma), (0, 0));
                    continue;
                }
                let (snapshot, _) = b.last_reading(k).unwrap();
                if !snapshot.charge_mosfet {
                    assert_eq!(p.charge.current_ma, 0);
                }
                if !snapshot.discharge_mosfet {
                    assert_eq!(p.discharge.current_ma, 0);
                }
                if snapshot.alarms.intersects(busbar::battery::CHARGE_BLOCKING) {
                    assert_eq!(p.charge.current_ma, 0);
                }
                if snapshot.alarms.intersects(busbar::battery::DISCHARGE_BLOCKING) {
                    assert_eq!(p.discharge.current_ma, 0);
                }
            }
            if s.counts.online == 0 {
                assert_eq!((s.ccl_ma, s.dcl_ma), (0, 0));
            }
        });
    }

    #[test]
    fn cvl_is_never_0_nor_below_dvl_and_voltage_is_never_0(f in fleet()) {
        let order: Vec<usize> = (0..f.packs.len()).collect();
        run(&f, &order, |_, _, s, _, _, _| {
            assert!(s.cvl_mv > 0);
            assert!(s.cvl_mv >= s.dvl_mv, "{s:?}");
            assert!(s.voltage_mv > 0);
        });
    }

    #[test]
    fn limits_rise_no_faster_than_the_ramp_and_fall_without_delay(f in fleet()) {
        let order: Vec<usize> = (0..f.packs.len()).collect();
        run(&f, &order, |_, _, s, prev, dt, _| {
            let charge: u64 = s.packs.iter().map(|p| u64::from(p.charge.current_ma)).sum();
            let discharge: u64 = s.packs.iter().map(|p| u64::from(p.discharge.current_ma)).sum();
            let targets = [
                (s.ccl_ma, charge.min(u64::from(f.caps.0) * 1000)),
                (s.dcl_ma, discharge.min(u64::from(f.caps.1) * 1000)),
            ];
            let Some(prev) = prev else { return };
            for ((now_ma, target), was) in targets.into_iter().zip([prev.ccl_ma, prev.dcl_ma]) {
                let (now_ma, was) = (u64::from(now_ma), u64::from(was));
                assert!(now_ma <= was + allowance(dt), "rose {was} -> {now_ma} in {dt:?}");
                if target <= was {
                    // A decrease (or no change) is on the bus in this very tick.
                    assert_eq!(now_ma, target);
                    if target < was {
                        assert!(s.lowered);
                    }
                }
            }
        });
    }

    #[test]
    fn the_result_does_not_depend_on_the_order_of_the_packs(
        (f, order) in fleet().prop_flat_map(|f| {
            let n = f.packs.len();
            (Just(f), Just((0..n).collect::<Vec<usize>>()).prop_shuffle())
        })
    ) {
        let identity: Vec<usize> = (0..f.packs.len()).collect();
        let t0 = Instant::now();
        let a = run_from(t0, &f, &identity, |_, _, _, _, _, _| {});
        let b = run_from(t0, &f, &order, |_, _, _, _, _, _| {});
        for (x, y) in a.iter().zip(&b) {
            prop_assert_eq!(x.is_some(), y.is_some());
            let (Some(x), Some(y)) = (x, y) else { continue };
            prop_assert_eq!(
                (x.cvl_mv, x.ccl_ma, x.dcl_ma, x.dvl_mv, x.charge_phase, x.lowered),
                (y.cvl_mv, y.ccl_ma, y.dcl_ma, y.dvl_mv, y.charge_phase, y.lowered)
            );
            prop_assert_eq!(
                (x.soc_centi_pct, x.voltage_mv, x.current_ma, x.temperature_dc, x.installed_capacity_ah),
                (y.soc_centi_pct, y.voltage_mv, y.current_ma, y.temperature_dc, y.installed_capacity_ah)
            );
            prop_assert_eq!(x.alarms, y.alarms);
            prop_assert_eq!(x.counts, y.counts);
            prop_assert_eq!(x.min_cell.map(|c| c.mv), y.min_cell.map(|c| c.mv));
            prop_assert_eq!(x.max_cell.map(|c| c.mv), y.max_cell.map(|c| c.mv));
            prop_assert_eq!(x.min_temperature.map(|t| t.dc), y.min_temperature.map(|t| t.dc));
            prop_assert_eq!(x.max_temperature.map(|t| t.dc), y.max_temperature.map(|t| t.dc));
            // Each pack's own report is the same wherever it is listed.
            for (k, &original) in order.iter().enumerate() {
                prop_assert_eq!(&y.packs[k], &x.packs[original]);
            }
        }
    }
}
