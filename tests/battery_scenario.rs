//! A scripted scenario over simulated minutes with the seed set-up (5 packs 16S, 60 A / 70 A each,
//! caps 300 / 350 A). Time is injected: one reading per pack and one tick per simulated second.
//!
//! Script (seconds):
//! -   0–9   all packs at rest, 3.25 V cells, SOC 60 %, 20 °C
//! -  10–19  pack2 says nothing (a cable pulled); offline from 12 s (last reading at 9 s + 3 s)
//! -  20     pack2 back
//! -  40–59  pack4 cell 5 runs high: 3.47 V, 3.52 V from 45 s, 3.56 V from 50 s
//! -  60     pack4 cell 5 back to 3.40 V (its balancer)
//! - 130–139 pack5 sensor T1 at −1 °C; 1 °C from 140 s; 2 °C from 145 s

mod support;

use std::time::Instant;

use busbar::battery::{Battery, BatteryState, CvlReason, Flag, LimitReason, SystemLimit};
use busbar::pack::PackSnapshot;
use support::{at, pack, seed, with_cell};

const END: u64 = 160;

fn reading(pack_index: usize, t: u64) -> Option<PackSnapshot> {
    if pack_index == 1 && (10..20).contains(&t) {
        return None;
    }
    let mut p = pack(3250);
    p.soc_pct = 60;
    if pack_index == 3 {
        let cell5 = match t {
            40..=44 => Some(3470),
            45..=49 => Some(3520),
            50..=59 => Some(3560),
            60.. => Some(3400),
            _ => None,
        };
        if let Some(mv) = cell5 {
            p = with_cell(p, 5, mv);
        }
    }
    if pack_index == 4 {
        let t1 = match t {
            130..=139 => -10,
            140..=144 => 10,
            _ => 200,
        };
        p.temperatures_dc[0] = t1;
    }
    Some(p)
}

/// The state after each simulated second, index = second.
fn simulate() -> Vec<BatteryState> {
    let t0 = Instant::now();
    let mut battery = Battery::new(seed(), t0).unwrap();
    (0..=END)
        .map(|t| {
            let now = at(t0, t as f64);
            for i in 0..5 {
                if let Some(p) = reading(i, t) {
                    battery.accept(i, now, p).unwrap();
                }
            }
            battery.tick(now).expect("every pack answered at 0 s")
        })
        .collect()
}

fn amps(s: &BatteryState) -> (u32, u32) {
    (s.ccl_ma / 1000, s.dcl_ma / 1000)
}

#[test]
fn seed_setup_through_a_dropout_a_high_cell_and_a_cold_sensor() {
    let s = simulate();

    // At rest: the sums of the pack maxima, which equal the caps.
    assert_eq!(amps(&s[0]), (300, 350));
    assert_eq!((s[0].cvl_mv, s[0].dvl_mv), (55_200, 46_400));
    assert_eq!(s[0].charge_limit, SystemLimit::PackMaxima);
    assert_eq!(s[0].soc_pct(), Some(60));
    assert_eq!(s[0].installed_capacity_ah, 1400);

    // pack2 silent from 10 s: still trusted until its last reading (9 s) is 3 s old.
    assert_eq!(amps(&s[11]), (300, 350));
    assert_eq!(s[11].counts.online, 5);
    // 12 s: offline, its share is cut in the same tick; the others carry on.
    assert_eq!(amps(&s[12]), (240, 280));
    assert!(s[12].lowered);
    assert_eq!(
        s[12].charge_limit,
        SystemLimit::Pack {
            index: 1,
            reason: LimitReason::Offline
        }
    );
    assert_eq!((s[12].counts.online, s[12].counts.offline), (4, 1));
    assert_eq!(s[12].alarms.warnings.bms_internal, Flag::Active);
    assert_eq!(s[12].alarms.alarms.bms_internal, Flag::Ok);
    assert_eq!(s[12].cvl_mv, 55_200);
    assert_eq!(s[12].installed_capacity_ah, 1120);
    assert_eq!(amps(&s[19]), (240, 280));

    // 20 s: back; both limits rise at 10 A/s.
    let ramp: Vec<(u32, u32)> = (20..=26).map(|t| amps(&s[t])).collect();
    assert_eq!(
        ramp,
        vec![
            (250, 290),
            (260, 300),
            (270, 310),
            (280, 320),
            (290, 330),
            (300, 340),
            (300, 350)
        ]
    );
    assert_eq!(
        s[20].charge_limit,
        SystemLimit::Rising { target_ma: 300_000 }
    );
    assert_eq!(s[20].alarms.warnings.bms_internal, Flag::Ok);

    // 40 s: pack4 cell 5 at 3.47 V → that pack 30 A, cut at once.
    assert_eq!(amps(&s[40]), (270, 350));
    assert_eq!(
        s[40].charge_limit,
        SystemLimit::Pack {
            index: 3,
            reason: LimitReason::HighCell { cell: 5, mv: 3470 }
        }
    );
    assert_eq!(
        s[40].max_cell.map(|c| (c.pack, c.cell, c.mv)),
        Some((3, 5, 3470))
    );
    // 45 s: 3.52 V → 2 A.
    assert_eq!(amps(&s[45]), (242, 350));
    assert_eq!(s[45].cvl_mv, 55_200);
    // 50 s: 3.56 V → 0 A, and CVL drops to that pack's cell sum minus the 10 mV excess.
    assert_eq!(amps(&s[50]), (240, 350));
    assert_eq!(s[50].cvl_mv, 15 * 3250 + 3560 - 10);
    assert_eq!(
        s[50].cvl_reason,
        CvlReason::HighCell {
            pack: 3,
            cell: 5,
            mv: 3560
        }
    );
    assert_eq!(s[50].packs[3].charge.current_ma, 0);
    assert_eq!(s[59].cvl_mv, 52_300);

    // 60 s: back to 3.40 V. CCL rises at 10 A/s, CVL at 0.05 V/s.
    assert_eq!(amps(&s[60]), (250, 350));
    assert_eq!(s[60].cvl_mv, 52_350);
    assert_eq!(s[60].cvl_reason, CvlReason::Rising { target_mv: 55_200 });
    assert_eq!(amps(&s[65]), (300, 350));
    assert_eq!(s[116].cvl_mv, 55_150);
    assert_eq!(s[117].cvl_mv, 55_200);
    assert_eq!(s[117].cvl_reason, CvlReason::Phase);

    // 130 s: pack5 T1 at −1 °C: no charging for that pack, discharging unaffected.
    assert_eq!(amps(&s[130]), (240, 350));
    assert_eq!(
        s[130].packs[4].charge.reason,
        LimitReason::LowTemperature { sensor: 1, dc: -10 }
    );
    assert_eq!(s[130].packs[4].discharge.current_ma, 70_000);
    assert_eq!(s[130].temperature_dc, Some(-10));
    assert_eq!(
        s[130].min_temperature.map(|t| (t.pack, t.sensor, t.dc)),
        Some((4, 1, -10))
    );
    // 140 s: +1 °C is inside the 2 °C hysteresis: still 0 A for that pack.
    assert_eq!(amps(&s[140]), (240, 350));
    assert_eq!(amps(&s[144]), (240, 350));
    // 145 s: +2 °C (20 °C again): released, ramping.
    assert_eq!(amps(&s[145]), (250, 350));
    assert_eq!(amps(&s[150]), (300, 350));
    assert_eq!(amps(&s[END as usize]), (300, 350));

    // Throughout: CVL never 0, never below DVL; DCL never affected by the charge-side events
    // except the dropout.
    for (t, state) in s.iter().enumerate() {
        assert!(state.cvl_mv >= state.dvl_mv && state.cvl_mv > 0, "at {t} s");
        if !(12..26).contains(&t) {
            assert_eq!(state.dcl_ma, 350_000, "at {t} s");
        }
    }
}
