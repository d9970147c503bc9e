//! Why a limit is where it is, in words, for logs, the status page and MQTT. Pack indices are
//! turned into the names in the state itself.

use super::{BatteryState, ChargePhase, CvlReason, SystemLimit};

/// "pack2 charge limited by cell 12 at 3.47 V", "system cap", "rising toward 120.0 A".
pub fn system_limit(state: &BatteryState, limit: SystemLimit, direction: &str) -> String {
    match limit {
        SystemLimit::Pack { index, reason } => {
            format!(
                "{} {direction} limited by {reason}",
                pack_name(state, index)
            )
        }
        SystemLimit::PackMaxima => "sum of the packs' maxima".into(),
        SystemLimit::SystemCap => "system cap".into(),
        SystemLimit::Rising { target_ma } => {
            format!("rising toward {:.1} A", f64::from(target_ma) / 1000.0)
        }
        SystemLimit::ShuttingDown => "shutting down".into(),
    }
}

/// "float voltage", "pack1 cell 3 at 3.560 V is above the high-cell limit", "held at DVL".
pub fn cvl_reason(state: &BatteryState) -> String {
    match state.cvl_reason {
        CvlReason::Phase => format!("{} voltage", phase(state.charge_phase)),
        CvlReason::HighCell { pack, cell, mv } => format!(
            "{} cell {cell} at {:.3} V is above the high-cell limit",
            pack_name(state, pack),
            f64::from(mv) / 1000.0
        ),
        CvlReason::Dvl => "held at DVL".into(),
        CvlReason::Rising { .. } => "rising".into(),
        CvlReason::NoPackOnline => "no pack online".into(),
    }
}

/// "absorption" or "float".
pub fn phase(phase: ChargePhase) -> &'static str {
    match phase {
        ChargePhase::Absorption => "absorption",
        ChargePhase::Float => "float",
    }
}

/// The name of pack `index`, "?" if the state has no such pack (cannot happen for indices the
/// core itself produced).
pub fn pack_name(state: &BatteryState, index: usize) -> &str {
    state.packs.get(index).map_or("?", |p| &p.name)
}
