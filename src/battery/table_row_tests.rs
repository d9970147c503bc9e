//! One named test per row of every DESIGN.md limit table, in step and in linear mode, plus the
//! hysteresis and a disabled rule. Each test switches every other rule off so that the row under
//! test is the only thing that can limit. Pack max 100 A: above every absolute row (60 A), so a
//! row and the pack max are never confused.

use super::control_config::ControlConfig;
use super::limits_config::{LimitsConfig, Mode};
use super::pack_limits::{LimitReason, Observed, PackLimit, PackRules, RuleMemory};
use crate::pack::PackSnapshot;

const MAX_MA: u32 = 100_000;

#[derive(Clone, Copy)]
enum Rule {
    ChargeByCell,
    DischargeByCell,
    ChargeBySoc,
    DischargeBySoc,
    ChargeByTemperature,
    DischargeByTemperature,
}

impl Rule {
    fn charges(self) -> bool {
        matches!(
            self,
            Rule::ChargeByCell | Rule::ChargeBySoc | Rule::ChargeByTemperature
        )
    }
}

/// Only `rule` enabled, in `mode`.
fn only(rule: Rule, mode: Mode) -> PackRules {
    let mut l = LimitsConfig::default();
    l.charge_by_cell.enabled = false;
    l.discharge_by_cell.enabled = false;
    l.charge_by_soc.enabled = false;
    l.discharge_by_soc.enabled = false;
    l.charge_by_temperature.enabled = false;
    l.discharge_by_temperature.enabled = false;
    match rule {
        Rule::ChargeByCell => (l.charge_by_cell.enabled, l.charge_by_cell.mode) = (true, mode),
        Rule::DischargeByCell => {
            (l.discharge_by_cell.enabled, l.discharge_by_cell.mode) = (true, mode)
        }
        Rule::ChargeBySoc => (l.charge_by_soc.enabled, l.charge_by_soc.mode) = (true, mode),
        Rule::DischargeBySoc => {
            (l.discharge_by_soc.enabled, l.discharge_by_soc.mode) = (true, mode)
        }
        Rule::ChargeByTemperature => {
            (
                l.charge_by_temperature.enabled,
                l.charge_by_temperature.mode,
            ) = (true, mode)
        }
        Rule::DischargeByTemperature => {
            (
                l.discharge_by_temperature.enabled,
                l.discharge_by_temperature.mode,
            ) = (true, mode)
        }
    }
    PackRules::new(&l, &ControlConfig::default())
}

/// 16 cells; for charge tests cell 12 is the highest (others 3.20 V), for discharge tests cell 3
/// is the lowest (others 3.40 V). T1 20 °C unless a test sets the temperatures.
fn snapshot(rule: Rule, cell_mv: u16, soc: u8, temps: &[i16]) -> PackSnapshot {
    let mut cells = [if rule.charges() { 3200 } else { 3400 }; 16];
    cells[if rule.charges() { 11 } else { 2 }] = cell_mv;
    PackSnapshot {
        cell_voltages_mv: cells.iter().copied().collect(),
        temperatures_dc: temps.iter().copied().collect(),
        voltage_mv: cells.iter().map(|&c| u32::from(c)).sum(),
        soc_pct: soc,
        charge_mosfet: true,
        discharge_mosfet: true,
        ..PackSnapshot::default()
    }
}

/// Feed the readings one after the other through one pack's memory; the last one's limit.
fn run(rules: &PackRules, rule: Rule, readings: &[PackSnapshot]) -> PackLimit {
    let mut memory = RuleMemory::default();
    let mut last = None;
    for s in readings {
        let seen = Observed::of(s);
        let eff = rules.observe(&mut memory, &seen);
        last = Some(if rule.charges() {
            rules.charge(&seen, &eff, MAX_MA)
        } else {
            rules.discharge(&seen, &eff, MAX_MA)
        });
    }
    last.expect("at least one reading")
}

fn cell(rule: Rule, mode: Mode, mv: u16) -> PackLimit {
    run(&only(rule, mode), rule, &[snapshot(rule, mv, 50, &[200])])
}

fn soc(rule: Rule, mode: Mode, pct: u8) -> PackLimit {
    run(
        &only(rule, mode),
        rule,
        &[snapshot(rule, 3300, pct, &[200])],
    )
}

fn temperature(rule: Rule, mode: Mode, temps: &[i16]) -> PackLimit {
    run(&only(rule, mode), rule, &[snapshot(rule, 3300, 50, temps)])
}

fn high(mv: u16) -> LimitReason {
    LimitReason::HighCell { cell: 12, mv }
}

fn low(mv: u16) -> LimitReason {
    LimitReason::LowCell { cell: 3, mv }
}

fn limit(current_ma: u32, reason: LimitReason) -> PackLimit {
    PackLimit { current_ma, reason }
}

fn pack_max() -> PackLimit {
    limit(MAX_MA, LimitReason::PackMax)
}

// --- Charge by highest cell: ≥ 3.55 → 0; 3.50–3.55 → 2; 3.45–3.50 → 30; 3.30–3.45 → 60; below → max.

#[test]
fn charge_by_cell_row_3v55_and_above_is_0a_step() {
    use Mode::Step;
    assert_eq!(cell(Rule::ChargeByCell, Step, 3550), limit(0, high(3550)));
    assert_eq!(cell(Rule::ChargeByCell, Step, 3650), limit(0, high(3650)));
}

#[test]
fn charge_by_cell_row_3v55_and_above_is_0a_linear() {
    use Mode::Linear;
    assert_eq!(cell(Rule::ChargeByCell, Linear, 3550), limit(0, high(3550)));
    assert_eq!(cell(Rule::ChargeByCell, Linear, 3650), limit(0, high(3650)));
}

#[test]
fn charge_by_cell_row_3v50_to_3v55_is_2a_step() {
    use Mode::Step;
    assert_eq!(
        cell(Rule::ChargeByCell, Step, 3500),
        limit(2_000, high(3500))
    );
    assert_eq!(
        cell(Rule::ChargeByCell, Step, 3549),
        limit(2_000, high(3549))
    );
}

#[test]
fn charge_by_cell_row_3v50_to_3v55_is_2a_linear() {
    use Mode::Linear;
    assert_eq!(
        cell(Rule::ChargeByCell, Linear, 3500),
        limit(2_000, high(3500))
    );
    // Halfway to the 0 A row: 1 A.
    assert_eq!(
        cell(Rule::ChargeByCell, Linear, 3525),
        limit(1_000, high(3525))
    );
}

#[test]
fn charge_by_cell_row_3v45_to_3v50_is_30a_step() {
    use Mode::Step;
    assert_eq!(
        cell(Rule::ChargeByCell, Step, 3450),
        limit(30_000, high(3450))
    );
    assert_eq!(
        cell(Rule::ChargeByCell, Step, 3499),
        limit(30_000, high(3499))
    );
}

#[test]
fn charge_by_cell_row_3v45_to_3v50_is_30a_linear() {
    use Mode::Linear;
    assert_eq!(
        cell(Rule::ChargeByCell, Linear, 3450),
        limit(30_000, high(3450))
    );
    // Halfway from 30 A to 2 A: 16 A.
    assert_eq!(
        cell(Rule::ChargeByCell, Linear, 3475),
        limit(16_000, high(3475))
    );
}

#[test]
fn charge_by_cell_row_3v30_to_3v45_is_60a_step() {
    use Mode::Step;
    assert_eq!(
        cell(Rule::ChargeByCell, Step, 3300),
        limit(60_000, high(3300))
    );
    assert_eq!(
        cell(Rule::ChargeByCell, Step, 3449),
        limit(60_000, high(3449))
    );
}

#[test]
fn charge_by_cell_row_3v30_to_3v45_is_60a_linear() {
    use Mode::Linear;
    assert_eq!(
        cell(Rule::ChargeByCell, Linear, 3300),
        limit(60_000, high(3300))
    );
    // Halfway from 60 A to 30 A: 45 A.
    assert_eq!(
        cell(Rule::ChargeByCell, Linear, 3375),
        limit(45_000, high(3375))
    );
}

#[test]
fn charge_by_cell_below_3v30_is_pack_max_step() {
    assert_eq!(cell(Rule::ChargeByCell, Mode::Step, 3299), pack_max());
}

#[test]
fn charge_by_cell_below_3v30_is_pack_max_linear() {
    assert_eq!(cell(Rule::ChargeByCell, Mode::Linear, 3299), pack_max());
}

// --- Discharge by lowest cell: ≤ 2.70 → 0; 2.70–2.90 → 5; 2.90–3.10 → 30; above → max.

#[test]
fn discharge_by_cell_row_2v70_and_below_is_0a_step() {
    use Mode::Step;
    assert_eq!(cell(Rule::DischargeByCell, Step, 2700), limit(0, low(2700)));
    assert_eq!(cell(Rule::DischargeByCell, Step, 2500), limit(0, low(2500)));
}

#[test]
fn discharge_by_cell_row_2v70_and_below_is_0a_linear() {
    use Mode::Linear;
    assert_eq!(
        cell(Rule::DischargeByCell, Linear, 2700),
        limit(0, low(2700))
    );
    assert_eq!(
        cell(Rule::DischargeByCell, Linear, 2500),
        limit(0, low(2500))
    );
}

#[test]
fn discharge_by_cell_row_2v70_to_2v90_is_5a_step() {
    use Mode::Step;
    assert_eq!(
        cell(Rule::DischargeByCell, Step, 2701),
        limit(5_000, low(2701))
    );
    assert_eq!(
        cell(Rule::DischargeByCell, Step, 2900),
        limit(5_000, low(2900))
    );
}

#[test]
fn discharge_by_cell_row_2v70_to_2v90_is_5a_linear() {
    use Mode::Linear;
    assert_eq!(
        cell(Rule::DischargeByCell, Linear, 2900),
        limit(5_000, low(2900))
    );
    // Halfway from 5 A to 0 A: 2.5 A.
    assert_eq!(
        cell(Rule::DischargeByCell, Linear, 2800),
        limit(2_500, low(2800))
    );
}

#[test]
fn discharge_by_cell_row_2v90_to_3v10_is_30a_step() {
    use Mode::Step;
    assert_eq!(
        cell(Rule::DischargeByCell, Step, 2901),
        limit(30_000, low(2901))
    );
    assert_eq!(
        cell(Rule::DischargeByCell, Step, 3100),
        limit(30_000, low(3100))
    );
}

#[test]
fn discharge_by_cell_row_2v90_to_3v10_is_30a_linear() {
    use Mode::Linear;
    assert_eq!(
        cell(Rule::DischargeByCell, Linear, 3100),
        limit(30_000, low(3100))
    );
    // Halfway from 30 A to 5 A: 17.5 A.
    assert_eq!(
        cell(Rule::DischargeByCell, Linear, 3000),
        limit(17_500, low(3000))
    );
}

#[test]
fn discharge_by_cell_above_3v10_is_pack_max_step() {
    assert_eq!(cell(Rule::DischargeByCell, Mode::Step, 3101), pack_max());
}

#[test]
fn discharge_by_cell_above_3v10_is_pack_max_linear() {
    assert_eq!(cell(Rule::DischargeByCell, Mode::Linear, 3101), pack_max());
}

// --- Charge by SOC: 99–100 % → 5 A; 95–98 % → ¼ max; 91–95 % → ½ max; below → max.

fn pct(pct: u8) -> LimitReason {
    LimitReason::Soc { pct }
}

#[test]
fn charge_by_soc_row_99_to_100_is_5a_step() {
    use Mode::Step;
    assert_eq!(soc(Rule::ChargeBySoc, Step, 99), limit(5_000, pct(99)));
    assert_eq!(soc(Rule::ChargeBySoc, Step, 100), limit(5_000, pct(100)));
}

#[test]
fn charge_by_soc_row_99_to_100_is_5a_linear() {
    use Mode::Linear;
    assert_eq!(soc(Rule::ChargeBySoc, Linear, 99), limit(5_000, pct(99)));
    assert_eq!(soc(Rule::ChargeBySoc, Linear, 100), limit(5_000, pct(100)));
}

#[test]
fn charge_by_soc_row_95_to_98_is_a_quarter_of_max_step() {
    use Mode::Step;
    assert_eq!(soc(Rule::ChargeBySoc, Step, 95), limit(25_000, pct(95)));
    assert_eq!(soc(Rule::ChargeBySoc, Step, 98), limit(25_000, pct(98)));
}

#[test]
fn charge_by_soc_row_95_to_98_is_a_quarter_of_max_linear() {
    use Mode::Linear;
    assert_eq!(soc(Rule::ChargeBySoc, Linear, 95), limit(25_000, pct(95)));
    // Halfway from 25 A to 5 A: 15 A.
    assert_eq!(soc(Rule::ChargeBySoc, Linear, 97), limit(15_000, pct(97)));
}

#[test]
fn charge_by_soc_row_91_to_95_is_half_of_max_step() {
    use Mode::Step;
    assert_eq!(soc(Rule::ChargeBySoc, Step, 91), limit(50_000, pct(91)));
    assert_eq!(soc(Rule::ChargeBySoc, Step, 94), limit(50_000, pct(94)));
}

#[test]
fn charge_by_soc_row_91_to_95_is_half_of_max_linear() {
    use Mode::Linear;
    assert_eq!(soc(Rule::ChargeBySoc, Linear, 91), limit(50_000, pct(91)));
    // Halfway from 50 A to 25 A: 37.5 A.
    assert_eq!(soc(Rule::ChargeBySoc, Linear, 93), limit(37_500, pct(93)));
}

#[test]
fn charge_by_soc_below_91_is_pack_max_step() {
    assert_eq!(soc(Rule::ChargeBySoc, Mode::Step, 90), pack_max());
}

#[test]
fn charge_by_soc_below_91_is_pack_max_linear() {
    assert_eq!(soc(Rule::ChargeBySoc, Mode::Linear, 90), pack_max());
}

// --- Discharge by SOC: ≤ 10 % → 5 A; 10–20 % → ¼ max; 20–30 % → ½ max; above → max.

#[test]
fn discharge_by_soc_row_10_and_below_is_5a_step() {
    use Mode::Step;
    assert_eq!(soc(Rule::DischargeBySoc, Step, 10), limit(5_000, pct(10)));
    assert_eq!(soc(Rule::DischargeBySoc, Step, 0), limit(5_000, pct(0)));
}

#[test]
fn discharge_by_soc_row_10_and_below_is_5a_linear() {
    use Mode::Linear;
    assert_eq!(soc(Rule::DischargeBySoc, Linear, 10), limit(5_000, pct(10)));
    assert_eq!(soc(Rule::DischargeBySoc, Linear, 0), limit(5_000, pct(0)));
}

#[test]
fn discharge_by_soc_row_10_to_20_is_a_quarter_of_max_step() {
    use Mode::Step;
    assert_eq!(soc(Rule::DischargeBySoc, Step, 11), limit(25_000, pct(11)));
    assert_eq!(soc(Rule::DischargeBySoc, Step, 20), limit(25_000, pct(20)));
}

#[test]
fn discharge_by_soc_row_10_to_20_is_a_quarter_of_max_linear() {
    use Mode::Linear;
    assert_eq!(
        soc(Rule::DischargeBySoc, Linear, 20),
        limit(25_000, pct(20))
    );
    // Halfway from 25 A to 5 A: 15 A.
    assert_eq!(
        soc(Rule::DischargeBySoc, Linear, 15),
        limit(15_000, pct(15))
    );
}

#[test]
fn discharge_by_soc_row_20_to_30_is_half_of_max_step() {
    use Mode::Step;
    assert_eq!(soc(Rule::DischargeBySoc, Step, 21), limit(50_000, pct(21)));
    assert_eq!(soc(Rule::DischargeBySoc, Step, 30), limit(50_000, pct(30)));
}

#[test]
fn discharge_by_soc_row_20_to_30_is_half_of_max_linear() {
    use Mode::Linear;
    assert_eq!(
        soc(Rule::DischargeBySoc, Linear, 30),
        limit(50_000, pct(30))
    );
    // Halfway from 50 A to 25 A: 37.5 A.
    assert_eq!(
        soc(Rule::DischargeBySoc, Linear, 25),
        limit(37_500, pct(25))
    );
}

#[test]
fn discharge_by_soc_above_30_is_pack_max_step() {
    assert_eq!(soc(Rule::DischargeBySoc, Mode::Step, 31), pack_max());
}

#[test]
fn discharge_by_soc_above_30_is_pack_max_linear() {
    assert_eq!(soc(Rule::DischargeBySoc, Mode::Linear, 31), pack_max());
}

// --- Temperature: charge 0 A below 0 °C or above 55 °C; discharge 0 A below −20 °C or above 55 °C.

fn cold(sensor: usize, dc: i16) -> LimitReason {
    LimitReason::LowTemperature { sensor, dc }
}

fn hot(sensor: usize, dc: i16) -> LimitReason {
    LimitReason::HighTemperature { sensor, dc }
}

fn both_modes(check: impl Fn(Mode)) {
    check(Mode::Step);
    check(Mode::Linear);
}

#[test]
fn charge_by_temperature_row_below_0c_is_0a_step_and_linear() {
    both_modes(|m| {
        let r = Rule::ChargeByTemperature;
        // The coldest sensor decides, whichever it is.
        assert_eq!(temperature(r, m, &[150, -1]), limit(0, cold(2, -1)));
        assert_eq!(temperature(r, m, &[0, 150]), pack_max());
    });
}

#[test]
fn charge_by_temperature_row_above_55c_is_0a_step_and_linear() {
    both_modes(|m| {
        let r = Rule::ChargeByTemperature;
        assert_eq!(temperature(r, m, &[551, 200]), limit(0, hot(1, 551)));
        assert_eq!(temperature(r, m, &[550, 200]), pack_max());
    });
}

#[test]
fn discharge_by_temperature_row_below_minus_20c_is_0a_step_and_linear() {
    both_modes(|m| {
        let r = Rule::DischargeByTemperature;
        assert_eq!(temperature(r, m, &[-201, 0]), limit(0, cold(1, -201)));
        assert_eq!(temperature(r, m, &[-200, 0]), pack_max());
        // Charging would stop at −1 °C; discharging does not.
        assert_eq!(temperature(r, m, &[-10]), pack_max());
    });
}

#[test]
fn discharge_by_temperature_row_above_55c_is_0a_step_and_linear() {
    both_modes(|m| {
        let r = Rule::DischargeByTemperature;
        assert_eq!(temperature(r, m, &[200, 551]), limit(0, hot(2, 551)));
        assert_eq!(temperature(r, m, &[200, 550]), pack_max());
    });
}

#[test]
fn temperature_rule_without_any_sensor_allows_nothing() {
    let r = Rule::ChargeByTemperature;
    assert_eq!(
        temperature(r, Mode::Step, &[]),
        limit(0, LimitReason::NoTemperatureSensor)
    );
}

#[test]
fn the_mosfet_sensor_is_not_a_cell_temperature() {
    let r = Rule::ChargeByTemperature;
    let mut s = snapshot(r, 3300, 50, &[200]);
    s.mos_temperature_dc = Some(700);
    assert_eq!(run(&only(r, Mode::Step), r, &[s]), pack_max());
}

// --- Hysteresis (defaults: 30 mV, 2 %, 2 °C).

#[test]
fn hysteresis_charge_cell_limit_stays_down_until_30mv_below_the_threshold() {
    let r = Rule::ChargeByCell;
    let rules = only(r, Mode::Step);
    let seq = |mvs: &[u16]| {
        let readings: Vec<_> = mvs.iter().map(|&mv| snapshot(r, mv, 50, &[200])).collect();
        run(&rules, r, &readings).current_ma
    };
    assert_eq!(seq(&[3550]), 0);
    assert_eq!(seq(&[3550, 3549]), 0);
    assert_eq!(seq(&[3550, 3540, 3549, 3520]), 0); // hovering, and exactly 3.55 − 0.03
    assert_eq!(seq(&[3550, 3519]), 2_000);
    // Without the excursion to 3.55 V, 3.54 V is simply the 2 A row.
    assert_eq!(seq(&[3540]), 2_000);
    // A value going down again is taken at once.
    assert_eq!(seq(&[3550, 3519, 3550]), 0);
}

#[test]
fn hysteresis_discharge_cell_limit_stays_down_until_30mv_above_the_threshold() {
    let r = Rule::DischargeByCell;
    let rules = only(r, Mode::Step);
    let seq = |mvs: &[u16]| {
        let readings: Vec<_> = mvs.iter().map(|&mv| snapshot(r, mv, 50, &[200])).collect();
        run(&rules, r, &readings).current_ma
    };
    assert_eq!(seq(&[2700, 2730]), 0);
    assert_eq!(seq(&[2700, 2731]), 5_000);
}

#[test]
fn hysteresis_soc_limit_stays_down_until_2_percent_back() {
    let r = Rule::ChargeBySoc;
    let rules = only(r, Mode::Step);
    let seq = |socs: &[u8]| {
        let readings: Vec<_> = socs.iter().map(|&p| snapshot(r, 3300, p, &[200])).collect();
        run(&rules, r, &readings).current_ma
    };
    assert_eq!(seq(&[99, 98, 97]), 5_000);
    assert_eq!(seq(&[99, 96]), 25_000);
    let r = Rule::DischargeBySoc;
    let rules = only(r, Mode::Step);
    let readings: Vec<_> = [10, 12]
        .iter()
        .map(|&p| snapshot(r, 3300, p, &[200]))
        .collect();
    assert_eq!(run(&rules, r, &readings).current_ma, 5_000);
}

#[test]
fn hysteresis_temperature_limit_stays_down_until_2c_back() {
    let r = Rule::ChargeByTemperature;
    let rules = only(r, Mode::Step);
    let seq = |dcs: &[i16]| {
        let readings: Vec<_> = dcs.iter().map(|&t| snapshot(r, 3300, 50, &[t])).collect();
        run(&rules, r, &readings).current_ma
    };
    assert_eq!(seq(&[-1, 0, 10, 19]), 0);
    assert_eq!(seq(&[-1, 20]), MAX_MA);
}

#[test]
fn hysteresis_in_linear_mode_lags_by_the_width() {
    let r = Rule::ChargeByCell;
    let rules = only(r, Mode::Linear);
    let readings: Vec<_> = [3500, 3480, 3460]
        .iter()
        .map(|&mv| snapshot(r, mv, 50, &[200]))
        .collect();
    // Effective 3.49 V: 30 A − 28 A × 40/50 = 7.6 A; the reason names the real cell voltage.
    assert_eq!(run(&rules, r, &readings), limit(7_600, high(3460)));
}

// --- Switching off, and which rule wins.

#[test]
fn a_disabled_rule_never_limits() {
    let mut l = LimitsConfig::default();
    l.charge_by_cell.enabled = false;
    let rules = PackRules::new(&l, &ControlConfig::default());
    let r = Rule::ChargeByCell;
    // 3.60 V would be 0 A; with the rule off only the others count (SOC 50, 20 °C: nothing).
    assert_eq!(run(&rules, r, &[snapshot(r, 3600, 50, &[200])]), pack_max());
    // The same reading with the rule on.
    let rules = PackRules::new(&LimitsConfig::default(), &ControlConfig::default());
    assert_eq!(
        run(&rules, r, &[snapshot(r, 3600, 50, &[200])]),
        limit(0, high(3600))
    );
}

#[test]
fn the_smallest_enabled_rule_wins_and_is_named() {
    let rules = PackRules::new(&LimitsConfig::default(), &ControlConfig::default());
    let r = Rule::ChargeByCell;
    // Cell 3.46 V → 30 A; SOC 96 % → 25 A: SOC wins.
    assert_eq!(
        run(&rules, r, &[snapshot(r, 3460, 96, &[200])]),
        limit(25_000, pct(96))
    );
    // Cell 3.51 V → 2 A beats SOC 96 %.
    assert_eq!(
        run(&rules, r, &[snapshot(r, 3510, 96, &[200])]),
        limit(2_000, high(3510))
    );
    // Cold beats everything.
    assert_eq!(
        run(&rules, r, &[snapshot(r, 3510, 96, &[-5])]),
        limit(0, cold(1, -5))
    );
}

#[test]
fn a_row_above_the_pack_max_is_the_pack_max() {
    let rules = only(Rule::ChargeByCell, Mode::Step);
    let s = snapshot(Rule::ChargeByCell, 3400, 50, &[200]);
    let seen = Observed::of(&s);
    let eff = rules.observe(&mut RuleMemory::default(), &seen);
    // 60 A row, pack of 50 A: the pack max holds.
    assert_eq!(
        rules.charge(&seen, &eff, 50_000),
        limit(50_000, LimitReason::PackMax)
    );
}

#[test]
fn reasons_read_as_a_log_line() {
    let line = |r: LimitReason| format!("pack3 charge limited by {r}");
    assert_eq!(
        line(high(3470)),
        "pack3 charge limited by cell 12 at 3.47 V"
    );
    assert_eq!(
        line(high(3475)),
        "pack3 charge limited by cell 12 at 3.475 V"
    );
    assert_eq!(line(pct(96)), "pack3 charge limited by SOC 96 %");
    assert_eq!(line(cold(2, -5)), "pack3 charge limited by T2 at -0.5 °C");
    assert_eq!(
        line(LimitReason::Alarm(crate::pack::Alarms::CELL_OVER_VOLTAGE)),
        "pack3 charge limited by alarm cell_over_voltage"
    );
    assert_eq!(
        line(LimitReason::Offline),
        "pack3 charge limited by being offline"
    );
}
