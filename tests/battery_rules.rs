//! One named test per DESIGN.md safety rule that is the core's business (rules 1–8; rule 9, the
//! CAN name, belongs to the encoder). Public API only.

mod support;

use std::time::Instant;

use busbar::battery::{
    Battery, ChargePhase, CvlReason, Flag, LimitReason, PackLimit, Rejected, SystemLimit,
};
use busbar::pack::{Alarms, Implausible};
use support::{at, pack, seed, settings, with_cell};

/// A seed battery with every pack answering `cell_mv` at `t0`.
fn running(t0: Instant, cell_mv: u16) -> Battery {
    let mut b = Battery::new(seed(), t0).unwrap();
    for i in 0..5 {
        b.accept(i, t0, pack(cell_mv)).unwrap();
    }
    b
}

#[test]
fn rule_1_online_only_while_the_last_valid_reading_is_young_and_an_invalid_one_never_refreshes() {
    let t0 = Instant::now();
    let mut b = running(t0, 3300);
    assert_eq!(b.tick(t0).unwrap().ccl_ma, 300_000);

    // Pack 1 (index 0) now sends only readings that fail check_plausible.
    let mut low_cell = pack(3300);
    low_cell.cell_voltages_mv[4] = 999;
    let mut pack_voltage_off = pack(3300);
    pack_voltage_off.voltage_mv = 60_000;
    let mut fifteen_cells = pack(3300);
    fifteen_cells.cell_voltages_mv.pop();
    fifteen_cells.voltage_mv = fifteen_cells.cell_sum_mv();
    for (s, bad) in [
        (1.0, low_cell),
        (2.0, pack_voltage_off),
        (2.5, fifteen_cells),
    ] {
        assert!(matches!(
            b.accept(0, at(t0, s), bad),
            Err(Rejected::Implausible(
                Implausible::CellVoltage { .. }
                    | Implausible::PackVoltage { .. }
                    | Implausible::CellCount { .. }
            ))
        ));
        for i in 1..5 {
            b.accept(i, at(t0, s), pack(3300)).unwrap();
        }
    }
    // Still the reading of t0: online just under 3 s, offline at 3 s.
    assert_eq!(b.last_reading(0).unwrap().1, t0);
    assert!(b.is_online(0, at(t0, 2.999)));
    let s = b.tick(at(t0, 2.999)).unwrap();
    assert_eq!(s.ccl_ma, 300_000);
    assert!(!b.is_online(0, at(t0, 3.0)));
    let s = b.tick(at(t0, 3.0)).unwrap();
    assert!(!s.packs[0].online);
    assert_eq!(
        s.packs[0].charge,
        PackLimit {
            current_ma: 0,
            reason: LimitReason::Offline
        }
    );
    assert_eq!(s.counts.online, 4);
    assert_eq!(s.counts.offline, 1);
    assert_eq!(s.ccl_ma, 240_000);

    // A valid reading brings it back.
    b.accept(0, at(t0, 3.5), pack(3300)).unwrap();
    assert!(b.is_online(0, at(t0, 3.5)));
    // An unknown pack index and an out-of-order reading are refused too.
    assert_eq!(
        b.accept(5, at(t0, 3.5), pack(3300)),
        Err(Rejected::UnknownPack { index: 5, packs: 5 })
    );
    assert_eq!(b.accept(0, at(t0, 3.4), pack(3300)), Err(Rejected::Stale));
}

#[test]
fn rule_2_a_pack_contributes_only_online_with_its_mosfet_on_and_no_blocking_alarm() {
    let t0 = Instant::now();
    let mut b = Battery::new(seed(), t0).unwrap();
    let mut mosfet_off = pack(3300);
    mosfet_off.charge_mosfet = false;
    let mut over_voltage = pack(3300);
    over_voltage.alarms = Alarms::CELL_OVER_VOLTAGE;
    let mut under_voltage = pack(3300);
    under_voltage.alarms = Alarms::CELL_UNDER_VOLTAGE | Alarms::LOW_CAPACITY;
    let high_cell = with_cell(pack(3300), 12, 3470);
    b.accept(0, t0, pack(3300)).unwrap();
    b.accept(1, t0, mosfet_off).unwrap();
    b.accept(2, t0, over_voltage).unwrap();
    b.accept(3, t0, under_voltage).unwrap();
    b.accept(4, t0, high_cell).unwrap();
    let s = b.tick(t0).unwrap();

    let charge: Vec<PackLimit> = s.packs.iter().map(|p| p.charge).collect();
    assert_eq!(
        charge,
        vec![
            PackLimit {
                current_ma: 60_000,
                reason: LimitReason::PackMax
            },
            PackLimit {
                current_ma: 0,
                reason: LimitReason::MosfetOff
            },
            PackLimit {
                current_ma: 0,
                reason: LimitReason::Alarm(Alarms::CELL_OVER_VOLTAGE)
            },
            PackLimit {
                current_ma: 60_000,
                reason: LimitReason::PackMax
            },
            PackLimit {
                current_ma: 30_000,
                reason: LimitReason::HighCell { cell: 12, mv: 3470 }
            },
        ]
    );
    let discharge: Vec<u32> = s.packs.iter().map(|p| p.discharge.current_ma).collect();
    assert_eq!(discharge, vec![70_000, 70_000, 70_000, 0, 70_000]);
    assert_eq!(
        s.packs[3].discharge.reason,
        // Low capacity is a warning only: not among the blocking alarms named.
        LimitReason::Alarm(Alarms::CELL_UNDER_VOLTAGE)
    );
    assert_eq!(s.ccl_ma, 150_000);
    assert_eq!(s.dcl_ma, 280_000);
    assert_eq!(s.counts.blocking_charge, 2);
    assert_eq!(s.counts.blocking_discharge, 1);
    // The pack giving up most of its charge current is named (first of equals).
    assert_eq!(
        s.charge_limit,
        SystemLimit::Pack {
            index: 1,
            reason: LimitReason::MosfetOff
        }
    );
    // One pack's over-voltage that others cover is a warning, not an alarm.
    assert_eq!(s.alarms.warnings.high_voltage, Flag::Active);
    assert_eq!(s.alarms.alarms.high_voltage, Flag::Ok);
}

#[test]
fn rule_3_system_limit_is_the_smaller_of_the_sum_and_the_cap() {
    let t0 = Instant::now();
    // 5 × 100 A = 500 A of packs against a 300 A cap.
    let mut b = Battery::new(settings(5, 16, 100, 100), t0).unwrap();
    for i in 0..5 {
        b.accept(i, t0, pack(3200)).unwrap();
    }
    let s = b.tick(t0).unwrap();
    assert_eq!(
        (s.ccl_ma, s.charge_limit),
        (300_000, SystemLimit::SystemCap)
    );
    assert_eq!(
        (s.dcl_ma, s.discharge_limit),
        (350_000, SystemLimit::SystemCap)
    );

    // Caps above the sum: the sum.
    let mut wide = settings(5, 16, 60, 70);
    wide.max_charge_current_ma = 1_000_000;
    wide.max_discharge_current_ma = 1_000_000;
    let mut b = Battery::new(wide, t0).unwrap();
    for i in 0..5 {
        b.accept(i, t0, pack(3200)).unwrap();
    }
    let s = b.tick(t0).unwrap();
    assert_eq!(
        (s.ccl_ma, s.charge_limit),
        (300_000, SystemLimit::PackMaxima)
    );
    assert_eq!(
        (s.dcl_ma, s.discharge_limit),
        (350_000, SystemLimit::PackMaxima)
    );
}

#[test]
fn rule_4_cvl_is_never_0_a_high_cell_lowers_it_and_with_no_pack_it_holds_its_last_safe_value() {
    let t0 = Instant::now();
    let mut b = running(t0, 3300);
    let s = b.tick(t0).unwrap();
    assert_eq!((s.cvl_mv, s.dvl_mv), (55_200, 46_400));
    assert_eq!(
        (s.charge_phase, s.cvl_reason),
        (ChargePhase::Absorption, CvlReason::Phase)
    );

    // Pack 3 (index 2), cell 7 at 3.60 V, others 3.40 V: CVL = cell sum − 50 mV excess.
    for i in 0..5 {
        let p = if i == 2 {
            with_cell(pack(3400), 7, 3600)
        } else {
            pack(3400)
        };
        b.accept(i, at(t0, 1.0), p).unwrap();
    }
    let s = b.tick(at(t0, 1.0)).unwrap();
    assert_eq!(s.cvl_mv, 15 * 3400 + 3600 - 50);
    assert_eq!(
        s.cvl_reason,
        CvlReason::HighCell {
            pack: 2,
            cell: 7,
            mv: 3600
        }
    );
    assert!(s.lowered);

    // A penalty that would go below DVL stops at DVL.
    for i in 0..5 {
        let p = if i == 2 {
            with_cell(pack(2800), 1, 5000)
        } else {
            pack(3400)
        };
        b.accept(i, at(t0, 2.0), p).unwrap();
    }
    let s = b.tick(at(t0, 2.0)).unwrap();
    assert_eq!((s.cvl_mv, s.cvl_reason), (46_400, CvlReason::Dvl));

    // Every pack silent: CVL holds its last value; never 0.
    let s = b.tick(at(t0, 10.0)).unwrap();
    assert_eq!(s.counts.online, 0);
    assert_eq!((s.cvl_mv, s.cvl_reason), (46_400, CvlReason::NoPackOnline));
    assert_eq!(s.voltage_mv, 46_400);
    let s = b.tick(at(t0, 3600.0)).unwrap();
    assert_eq!(s.cvl_mv, 46_400);
}

#[test]
fn rule_5_a_lower_limit_takes_effect_at_once_a_higher_one_rises_at_10_a_per_s() {
    let t0 = Instant::now();
    let mut b = running(t0, 3300);
    assert_eq!(b.tick(t0).unwrap().ccl_ma, 300_000);
    let feed = |b: &mut Battery, s: f64, first_cell_mv: u16| {
        b.accept(0, at(t0, s), with_cell(pack(3300), 1, first_cell_mv))
            .unwrap();
        for i in 1..5 {
            b.accept(i, at(t0, s), pack(3300)).unwrap();
        }
    };
    // Pack 1 reaches 3.56 V: its 60 A go at once.
    feed(&mut b, 0.5, 3560);
    let s = b.tick(at(t0, 0.5)).unwrap();
    assert_eq!(s.ccl_ma, 240_000);
    assert!(s.lowered);
    // Back well under: the 60 A come back at 10 A/s.
    feed(&mut b, 1.5, 3300);
    let s = b.tick(at(t0, 1.5)).unwrap();
    assert_eq!(s.ccl_ma, 250_000);
    assert_eq!(s.charge_limit, SystemLimit::Rising { target_ma: 300_000 });
    assert!(!s.lowered);
    feed(&mut b, 2.0, 3300);
    assert_eq!(b.tick(at(t0, 2.0)).unwrap().ccl_ma, 255_000);
    feed(&mut b, 4.0, 3300);
    assert_eq!(b.tick(at(t0, 4.0)).unwrap().ccl_ma, 275_000);
    feed(&mut b, 6.5, 3300);
    assert_eq!(b.tick(at(t0, 6.5)).unwrap().ccl_ma, 300_000);
    // The discharge limit was never touched.
    assert_eq!(b.tick(at(t0, 6.5)).unwrap().dcl_ma, 350_000);
}

#[test]
fn rule_6_nothing_is_sent_until_every_pack_answered_or_offline_after_passed() {
    let t0 = Instant::now();
    let mut b = Battery::new(seed(), t0).unwrap();
    assert_eq!(b.tick(t0), None);
    for i in 0..4 {
        b.accept(i, at(t0, 1.0), pack(3300)).unwrap();
    }
    // An implausible reading is not an answer.
    let mut bad = pack(3300);
    bad.voltage_mv = 0;
    assert!(b.accept(4, at(t0, 1.0), bad).is_err());
    assert_eq!(b.tick(at(t0, 2.999)), None);
    let s = b.tick(at(t0, 3.0)).unwrap();
    assert_eq!(s.counts.online, 4);
    assert_eq!(s.ccl_ma, 240_000);
    assert!(s.cvl_mv > 0 && s.voltage_mv > 0);

    // Every pack answering lets it start at once.
    let mut b = Battery::new(seed(), t0).unwrap();
    for i in 0..5 {
        b.accept(i, at(t0, 0.4), pack(3300)).unwrap();
    }
    let s = b.tick(at(t0, 0.4)).unwrap();
    assert_eq!((s.ccl_ma, s.dcl_ma, s.cvl_mv), (300_000, 350_000, 55_200));

    // No pack at all after offline_after: still never a zero voltage or CVL.
    let mut b = Battery::new(seed(), t0).unwrap();
    let s = b.tick(at(t0, 3.0)).unwrap();
    assert_eq!((s.ccl_ma, s.dcl_ma), (0, 0));
    assert_eq!((s.cvl_mv, s.voltage_mv), (54_000, 54_000));
    assert_eq!(s.soc_centi_pct, None);
}

#[test]
fn rule_7_all_packs_offline_means_ccl_dcl_0_with_the_bms_internal_alarm() {
    let t0 = Instant::now();
    let mut b = running(t0, 3300);
    let s = b.tick(t0).unwrap();
    assert_eq!(s.alarms.alarms.bms_internal, Flag::Ok);
    let soc = s.soc_centi_pct;
    for seconds in [3.0, 10.0, 600.0] {
        let s = b.tick(at(t0, seconds)).unwrap();
        assert_eq!((s.ccl_ma, s.dcl_ma), (0, 0), "at {seconds} s");
        assert_eq!(s.cvl_mv, 55_200);
        assert_eq!(s.alarms.alarms.bms_internal, Flag::Active);
        assert_eq!(s.alarms.alarms.general, Flag::Active);
        assert_eq!(s.counts.offline, 5);
        assert_eq!(s.current_ma, 0);
        assert_eq!(s.soc_centi_pct, soc);
        assert_eq!(s.min_cell, None);
    }
    // One pack back: limits from that pack only (ramping up), the alarm becomes a warning.
    b.accept(3, at(t0, 601.0), pack(3300)).unwrap();
    let s = b.tick(at(t0, 601.0)).unwrap();
    assert_eq!(s.alarms.alarms.bms_internal, Flag::Ok);
    assert_eq!(s.alarms.warnings.bms_internal, Flag::Active);
    assert_eq!(s.ccl_ma, 10_000);
}

#[test]
fn rule_8_the_shutdown_state_has_ccl_and_dcl_0_and_everything_else_as_it_is() {
    let t0 = Instant::now();
    let mut b = Battery::new(seed(), t0).unwrap();
    // Nothing was ever sent: nothing to withdraw.
    assert_eq!(b.shutdown_state(t0), None);
    for i in 0..5 {
        b.accept(i, t0, pack(3300)).unwrap();
    }
    let running = b.tick(t0).unwrap();
    let s = b.shutdown_state(at(t0, 0.5)).unwrap();
    assert_eq!((s.ccl_ma, s.dcl_ma), (0, 0));
    assert_eq!(s.charge_limit, SystemLimit::ShuttingDown);
    assert_eq!(s.discharge_limit, SystemLimit::ShuttingDown);
    assert!(s.lowered);
    assert_eq!(s.cvl_mv, running.cvl_mv);
    assert_eq!(s.voltage_mv, running.voltage_mv);
    assert_eq!(s.counts.online, 5);
}

/// Rule 2, "the smallest of its limit rules", with the BMS's own over-current protection as one
/// more rule (jk-pb reports it): a pack configured above it contributes only what its BMS
/// allows; a BMS that reports nothing (0) or more changes nothing; it never raises a limit.
#[test]
fn rule_2_a_pack_never_contributes_more_than_its_own_bms_allows() {
    let t0 = Instant::now();
    let mut b = Battery::new(seed(), t0).unwrap();
    let own = |charge_ma, discharge_ma| busbar::pack::BmsSettings {
        cells: 16,
        capacity_mah: 280_000,
        max_charge_current_ma: charge_ma,
        max_discharge_current_ma: discharge_ma,
    };
    let mut below = pack(3300);
    below.bms_settings = Some(own(50_000, 40_000));
    let mut above = pack(3300);
    above.bms_settings = Some(own(200_000, 200_000));
    let mut unknown = pack(3300);
    unknown.bms_settings = Some(own(0, 0));
    // The high cell already limits charge to 30 A: the BMS's 50 A must not raise it.
    let mut high_cell = with_cell(pack(3300), 12, 3470);
    high_cell.bms_settings = Some(own(50_000, 40_000));
    b.accept(0, t0, below).unwrap();
    b.accept(1, t0, above).unwrap();
    b.accept(2, t0, unknown).unwrap();
    b.accept(3, t0, high_cell).unwrap();
    b.accept(4, t0, pack(3300)).unwrap();
    let s = b.tick(t0).unwrap();
    let charge: Vec<(u32, LimitReason)> = s
        .packs
        .iter()
        .map(|p| (p.charge.current_ma, p.charge.reason))
        .collect();
    assert_eq!(
        charge,
        vec![
            (50_000, LimitReason::BmsLimit),
            (60_000, LimitReason::PackMax),
            (60_000, LimitReason::PackMax),
            (30_000, LimitReason::HighCell { cell: 12, mv: 3470 }),
            (60_000, LimitReason::PackMax),
        ]
    );
    let discharge: Vec<u32> = s.packs.iter().map(|p| p.discharge.current_ma).collect();
    assert_eq!(discharge, vec![40_000, 70_000, 70_000, 40_000, 70_000]);
    assert_eq!(s.packs[0].discharge.reason, LimitReason::BmsLimit);
    assert_eq!(s.ccl_ma, 260_000);
    assert_eq!(s.dcl_ma, 290_000);
    assert_eq!(
        LimitReason::BmsLimit.to_string(),
        "its BMS's own over-current protection"
    );
}
