//! End to end through the real binary: simulated JK-NW packs on ptys -> `busbar run` with
//! `interface = "candump:-"` -> stdout decoded through `dbc/busbar.dbc`.
//!
//! Each scenario asserts the frames and how fast they change. Every wait is for a condition on
//! the frame stream with a deadline; the only fixed windows are the ones a "nothing happens"
//! claim needs (e.g. garbage on the line must not take a pack offline for longer than it would
//! take a silent pack to go). Timings (see `e2e_support::Options::packs`): packs polled every
//! 250 ms, offline after 2 s, a full frame set every 1 s.

mod e2e_support;

use std::time::{Duration, Instant, SystemTime};

use e2e_support::{
    close, secs, Harness, Limits, Options, CVL_V, DAEMON_TICK, DVL_V, PACK_CHARGE_A,
    PACK_DISCHARGE_A, RAMP_A_PER_S,
};

/// The bound: a silent pack's share is gone within `offline_after` + this.
const OFFLINE_SLACK: Duration = Duration::from_millis(1500);
/// How late a frame may be seen after the reading that caused it, on a loaded runner (it is a
/// few ms on an idle one; the CAN cadence is 1 s, so this still tells "at once" from "at the
/// next full set").
const REACTION: Duration = Duration::from_millis(500);

/// Start `packs` packs and wait for the first 0x351 with every pack's share in it.
fn healthy(packs: usize) -> Harness {
    let mut h = Harness::start(Options::packs(packs));
    let (ccl, dcl) = sums(packs);
    let deadline = h.spawned_at + h.options.offline_after + OFFLINE_SLACK;
    let spawned = h.spawned_at;
    h.wait_for_351(spawned, deadline, |l| l.currents_are(ccl, dcl))
        .unwrap_or_else(|e| panic!("never healthy: {e}"));
    h
}

/// The earliest a pack's share may leave after its last reply was written: `offline_after`
/// after the last reading the daemon trusted. Under load a reply can be written after the
/// reader's timeout (200 ms at 250 ms polling) and is then discarded, so the last trusted
/// reading may be one poll older than the last reply. A pack dropped at its first missed poll
/// would be gone after about one poll, far below this.
fn earliest_cut(h: &Harness) -> Duration {
    h.options.offline_after - h.options.poll_interval
}

fn sums(packs: usize) -> (f64, f64) {
    (
        PACK_CHARGE_A * packs as f64,
        PACK_DISCHARGE_A * packs as f64,
    )
}

fn wall_secs(a: SystemTime, b: SystemTime) -> f64 {
    match b.duration_since(a) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// Crumb values of 0x35A (victron-can.md §3.4).
const ACTIVE: f64 = 1.0;
const OK: f64 = 2.0;

#[test]
fn all_packs_healthy_send_the_sums_on_a_steady_cadence() {
    // Four packs: 240 A / 280 A are below the caps (300 / 350 A), so sums and caps differ.
    let mut h = Harness::start(Options::packs(4));
    let (ccl, dcl) = sums(4);
    let spawned = h.spawned_at;
    // Start-up (rule 6): the first set goes out once every pack has answered, not after
    // offline_after, so it already carries every share.
    let first = h
        .wait_for(0x351, spawned, spawned + Duration::from_secs(10), |_, _| {
            true
        })
        .unwrap();
    let l = h.limits(&first);
    assert!(l.currents_are(ccl, dcl), "first 0x351 {l:?}");
    assert!(
        first.at - spawned < h.options.offline_after + OFFLINE_SLACK,
        "first frame {} after spawn",
        secs(first.at - spawned)
    );
    // Three full sets (0x35E goes only in a full set).
    let mut sets = vec![h
        .wait_for(0x35E, spawned, first.at + Duration::from_secs(3), |_, _| {
            true
        })
        .unwrap()];
    for _ in 0..2 {
        let after = sets.last().unwrap().at + Duration::from_millis(1);
        let deadline = after + Duration::from_secs(3);
        sets.push(h.wait_for(0x35E, after, deadline, |_, _| true).unwrap());
    }
    // The rest of the third set.
    let end = sets.last().unwrap().at + Duration::from_millis(300);
    h.collect_until(end);

    for pair in sets.windows(2) {
        // The daemon's own stamps: a fixed 1 s grid.
        let gap = wall_secs(pair[0].wall, pair[1].wall);
        assert!((0.7..=1.3).contains(&gap), "full sets {gap:.3} s apart");
    }
    let limits = h.limits_between(spawned, end);
    assert!(limits.len() >= 3, "{limits:?}");
    for (_, l) in &limits {
        assert!(close(l.cvl, CVL_V) && close(l.dvl, DVL_V), "{l:?}");
        assert!(l.currents_are(ccl, dcl), "{l:?}");
    }
    // Every frame is in the DBC, 8 bytes; each set has the Victron frames.
    for rx in h.history() {
        assert!(
            e2e_support::dbc::message(h.dbc(), rx.frame.id()).is_some(),
            "{:?} not in the DBC",
            rx.frame
        );
        assert_eq!(rx.frame.len(), 8, "{:?}", rx.frame);
    }
    for id in [
        0x351, 0x355, 0x356, 0x35A, 0x35E, 0x35F, 0x370, 0x372, 0x373, 0x374, 0x375, 0x379,
    ] {
        assert!(
            h.frames(id, spawned, end).len() >= 3,
            "0x{id:03X}: {} frames in three sets",
            h.frames(id, spawned, end).len()
        );
    }
    assert_eq!(h.other_lines(), 0, "stdout holds only candump lines");

    let m = h.modules(&h.latest(0x372).unwrap());
    assert_eq!((m.online, m.offline), (4, 0), "{m:?}");
    assert_eq!((m.blocking_charge, m.blocking_discharge), (0, 0), "{m:?}");
    let alarms = h.latest(0x35A).unwrap();
    assert_eq!(h.signal(&alarms, "Alarm_BmsInternal"), OK);
    assert_eq!(h.signal(&alarms, "Warning_BmsInternal"), OK);
    assert_eq!(h.signal(&alarms, "Alarm_General"), OK);
    assert_eq!(h.text(&h.latest(0x35E).unwrap()), "BUSBAR");
    let cells = h.latest(0x373).unwrap();
    for name in ["MinCellVoltage", "MaxCellVoltage"] {
        let v = h.signal(&cells, name);
        assert!((2.9..=3.6).contains(&v), "{name} {v}");
    }
    let installed = h.latest(0x379).unwrap();
    assert_eq!(h.signal(&installed, "InstalledCapacity"), 4.0 * 280.0);
}

#[test]
fn a_pack_that_stops_answering_leaves_ccl_and_dcl_within_offline_after() {
    let mut h = healthy(3);
    let (ccl, dcl) = sums(2);
    let silenced = h.fault(1, |f| f.silent = true);
    let deadline = silenced + h.options.offline_after + OFFLINE_SLACK;
    let (cut, l) = h
        .wait_for_351(silenced, deadline, |l| l.ccl < sums(3).0 - 0.05)
        .unwrap();
    let last_reply = h.last_reply(1).unwrap().written_at;
    assert!(l.currents_are(ccl, dcl), "its share, exactly: {l:?}");
    assert!(close(l.cvl, CVL_V), "{l:?}");
    // Not trusted longer than offline_after, but not dropped on the first missed poll either.
    assert!(
        cut >= last_reply + earliest_cut(&h),
        "cut {} after its last reply",
        secs(cut - last_reply)
    );
    // Until the cut every frame still carried the three packs.
    for (_, l) in h.limits_between(silenced, cut - Duration::from_millis(1)) {
        assert!(l.currents_are(sums(3).0, sums(3).1), "{l:?}");
    }
    // The next full set counts it offline and warns (BMS internal: some packs silent).
    let (at, m) = h
        .wait_for_372(cut, cut + Duration::from_secs(2), |m| m.offline == 1)
        .unwrap();
    assert_eq!((m.online, m.offline), (2, 1), "{m:?}");
    let alarms = h
        .wait_for(0x35A, cut, at + Duration::from_secs(2), |h, rx| {
            h.signal(rx, "Warning_BmsInternal") == ACTIVE
        })
        .unwrap();
    assert_eq!(h.signal(&alarms, "Alarm_BmsInternal"), OK);
    assert!(h.log().contains("pack2 OFFLINE"), "{}", h.log());
}

#[test]
fn a_pack_that_comes_back_rises_at_the_ramp_not_in_one_jump() {
    let mut h = healthy(3);
    let (full_ccl, full_dcl) = sums(3);
    let (low_ccl, low_dcl) = sums(2);
    let silenced = h.fault(1, |f| f.silent = true);
    let deadline = silenced + h.options.offline_after + OFFLINE_SLACK;
    let (cut, _) = h
        .wait_for_351(silenced, deadline, |l| l.currents_are(low_ccl, low_dcl))
        .unwrap();

    let back = h.fault(1, |f| f.silent = false);
    // DCL has the longer way: 70 A at 10 A/s.
    let rise = Duration::from_secs_f64(PACK_DISCHARGE_A / RAMP_A_PER_S);
    let deadline =
        back + h.options.poll_interval + rise + h.options.can_interval + Duration::from_secs(2);
    let (top, _) = h
        .wait_for_351(back, deadline, |l| l.currents_are(full_ccl, full_dcl))
        .unwrap();
    let frames = h.limits_between(cut, top);

    // Never faster than the ramp: between two frames (the daemon's own timestamps), at most
    // 10 A/s times the time between them, plus one tick of the core (100 ms) of slack.
    let slack = RAMP_A_PER_S * DAEMON_TICK.as_secs_f64();
    for pair in frames.windows(2) {
        let ((a, la), (b, lb)) = (pair[0], pair[1]);
        let dt = wall_secs(a.wall, b.wall);
        for (what, from, to) in [("CCL", la.ccl, lb.ccl), ("DCL", la.dcl, lb.dcl)] {
            assert!(
                to - from <= RAMP_A_PER_S * dt + slack,
                "{what} {from} -> {to} A in {dt:.3} s\n{frames:#?}"
            );
        }
    }
    // Not in one jump: several values on the way, and the whole way took as long as the ramp
    // says (from the last frame before the rise to the first at the top).
    for (what, low, full, get) in [
        (
            "CCL",
            low_ccl,
            full_ccl,
            (|l: &Limits| l.ccl) as fn(&Limits) -> f64,
        ),
        ("DCL", low_dcl, full_dcl, |l: &Limits| l.dcl),
    ] {
        let on_the_way: Vec<f64> = frames
            .iter()
            .map(|(_, l)| get(l))
            .filter(|v| *v > low + 0.05 && *v < full - 0.05)
            .collect();
        let minimum = ((full - low) / RAMP_A_PER_S) as usize - 2;
        assert!(
            on_the_way.len() >= minimum,
            "{what}: only {on_the_way:?} between {low} and {full} A"
        );
        let last_low = frames.iter().rev().find(|(_, l)| get(l) <= low + 0.05);
        let first_full = frames.iter().find(|(_, l)| get(l) >= full - 0.05);
        let (Some((a, _)), Some((b, _))) = (last_low, first_full) else {
            panic!("{what}: no frame at {low} or at {full} A: {frames:#?}");
        };
        let took = wall_secs(a.wall, b.wall);
        let ramp = (full - low) / RAMP_A_PER_S;
        assert!(
            took >= ramp - 2.0 * DAEMON_TICK.as_secs_f64(),
            "{what} rose {low} -> {full} A in {took:.2} s; the ramp needs {ramp:.1} s"
        );
    }
    let m = h.modules(&h.latest(0x372).unwrap());
    assert_eq!((m.online, m.offline), (3, 0), "{m:?}");
}

#[test]
fn an_open_charge_mosfet_cuts_ccl_at_the_next_reading_and_leaves_dcl() {
    let mut h = healthy(3);
    let (full_ccl, full_dcl) = sums(3);
    let opened = h.fault(0, |f| f.charge_mosfet_off = true);
    let deadline = opened + h.options.poll_interval + Duration::from_secs(1);
    let (cut, l) = h
        .wait_for_351(opened, deadline, |l| l.ccl < full_ccl - 0.05)
        .unwrap();
    assert!(l.currents_are(full_ccl - PACK_CHARGE_A, full_dcl), "{l:?}");
    // At the reading that carried it, not at the next full set.
    let reply = h
        .wait_reply(0, opened, cut + Duration::from_secs(1), |r| {
            r.faults.charge_mosfet_off
        })
        .unwrap();
    assert!(
        cut.saturating_duration_since(reply.written_at) <= REACTION,
        "0x351 {} after the reply",
        secs(cut.saturating_duration_since(reply.written_at))
    );
    // DCL never moves; the next full set counts one pack blocking charge.
    let (at, m) = h
        .wait_for_372(cut, cut + Duration::from_secs(2), |m| {
            m.blocking_charge == 1
        })
        .unwrap();
    assert_eq!(
        m,
        e2e_support::Modules {
            online: 3,
            blocking_charge: 1,
            blocking_discharge: 0,
            offline: 0
        }
    );
    for (_, l) in h.limits_between(opened, at) {
        assert!(close(l.dcl, full_dcl), "{l:?}");
        assert!(close(l.cvl, CVL_V), "{l:?}");
    }
}

#[test]
fn a_cell_at_3_47_v_limits_that_pack_to_30_a() {
    let mut h = healthy(3);
    let (full_ccl, full_dcl) = sums(3);
    let high = h.fault(0, |f| f.cell_override = Some((5, 3470)));
    let deadline = high + h.options.poll_interval + Duration::from_secs(1);
    let (cut, l) = h
        .wait_for_351(high, deadline, |l| l.ccl < full_ccl - 0.05)
        .unwrap();
    // Charge by highest cell, 3.45-3.50 V: 30 A for that pack; the others keep 60 A.
    assert!(
        l.currents_are(full_ccl - PACK_CHARGE_A + 30.0, full_dcl),
        "{l:?}"
    );
    // Below the 3.55 V high-cell limit: CVL untouched.
    assert!(close(l.cvl, CVL_V), "{l:?}");
    let reply = h
        .wait_reply(0, high, cut + Duration::from_secs(1), |r| {
            r.faults.cell_override.is_some()
        })
        .unwrap();
    assert!(cut.saturating_duration_since(reply.written_at) <= REACTION);
    // The next full set names the cell: 3.470 V, pack 1 cell 5.
    let extremes = h
        .wait_for(0x373, cut, cut + Duration::from_secs(2), |h, rx| {
            h.signal(rx, "MaxCellVoltage") > 3.4
        })
        .unwrap();
    assert!((h.signal(&extremes, "MaxCellVoltage") - 3.470).abs() < 0.0005);
    let id = h
        .wait_for(0x375, extremes.at, cut + Duration::from_secs(3), |_, _| {
            true
        })
        .unwrap();
    assert_eq!(h.text(&id), "P1C05");
    // It stays there while the cell does (the ramp does not creep back).
    let until = h.latest(0x351).unwrap().at + Duration::from_millis(1500);
    h.collect_until(until);
    for (_, l) in h.limits_between(cut, until) {
        assert!(l.currents_are(full_ccl - 30.0, full_dcl), "{l:?}");
    }
}

#[test]
fn frames_with_a_bad_checksum_are_never_trusted() {
    let mut h = healthy(3);
    let (ccl, dcl) = sums(2);
    let broken = h.fault(1, |f| f.bad_checksum = true);
    let deadline = broken + h.options.offline_after + OFFLINE_SLACK;
    let (cut, l) = h
        .wait_for_351(broken, deadline, |l| l.ccl < sums(3).0 - 0.05)
        .unwrap();
    let spawned = h.spawned_at;
    let last_good = h
        .replies(1, spawned)
        .into_iter()
        .filter(|r| !r.faults.bad_checksum)
        .map(|r| r.written_at)
        .next_back()
        .unwrap();
    assert!(l.currents_are(ccl, dcl), "{l:?}");
    assert!(
        cut >= last_good + earliest_cut(&h),
        "cut {} after the last good reply",
        secs(cut - last_good)
    );
    // It kept answering all along, every answer corrupt: not silence, distrust.
    let corrupt = h
        .replies(1, broken)
        .into_iter()
        .filter(|r| r.written_at < cut && r.faults.bad_checksum)
        .count();
    let polls =
        (h.options.offline_after.as_millis() / h.options.poll_interval.as_millis()) as usize;
    assert!(corrupt >= polls / 2, "only {corrupt} corrupt replies");
    let (_, m) = h
        .wait_for_372(cut, cut + Duration::from_secs(2), |m| m.offline == 1)
        .unwrap();
    assert_eq!((m.online, m.offline), (2, 1));
    assert!(h.log().contains("checksum"), "{}", h.log());
}

#[test]
fn garbage_between_frames_is_skipped_and_the_pack_stays_online() {
    let mut h = healthy(3);
    let (ccl, dcl) = sums(3);
    let noisy = h.fault(1, |f| f.garbage = true);
    // Longer than it takes a pack that is not understood to go offline.
    let window = noisy + h.options.offline_after + Duration::from_secs(1);
    h.collect_until(window);
    let limits = h.limits_between(noisy, window);
    assert!(limits.len() >= 3, "{limits:?}");
    for (_, l) in &limits {
        assert!(l.currents_are(ccl, dcl), "{l:?}\n{}", h.context(""));
    }
    for rx in h.frames(0x372, noisy, window) {
        assert_eq!(h.modules(&rx).online, 3);
    }
    let noisy_replies = h
        .replies(1, noisy)
        .into_iter()
        .filter(|r| r.faults.garbage && r.written_at < window)
        .count();
    let polls =
        (h.options.offline_after.as_millis() / h.options.poll_interval.as_millis()) as usize;
    assert!(noisy_replies >= polls, "only {noisy_replies} noisy replies");
}

#[test]
fn an_adapter_that_vanishes_and_reappears_is_read_again() {
    let mut h = healthy(3);
    let (full_ccl, full_dcl) = sums(3);
    let (low_ccl, low_dcl) = sums(2);
    let (pulled, last) = h.unplug(1);
    let deadline = pulled + h.options.offline_after + OFFLINE_SLACK;
    let (cut, _) = h
        .wait_for_351(pulled, deadline, |l| l.currents_are(low_ccl, low_dcl))
        .unwrap();
    assert!(cut >= last.unwrap().written_at + earliest_cut(&h));
    assert!(h.is_running());

    let plugged = h.replug(1);
    // The reader retries with a backoff of 250 ms doubling to 8 s: back within the longest
    // wait plus a poll and a full set.
    let deadline =
        plugged + Duration::from_secs(8) + h.options.can_interval + Duration::from_secs(2);
    let (online, _) = h
        .wait_for_372(plugged, deadline, |m| m.online == 3 && m.offline == 0)
        .unwrap();
    // Through the new pty.
    h.wait_reply(1, plugged, online + Duration::from_secs(1), |_| true)
        .unwrap();
    // And its share comes back (at the ramp, from where it was).
    let (_, l) = h
        .wait_for_351(plugged, online + Duration::from_secs(3), |l| {
            l.ccl > low_ccl + 0.05
        })
        .unwrap();
    assert!(l.ccl < full_ccl && l.dcl < full_dcl, "{l:?}");
    let log = h.log();
    assert!(log.contains("pack2 OFFLINE"), "{log}");
    assert!(log.contains("pack2 online again"), "{log}");
}

#[test]
fn all_packs_silent_is_zero_current_a_sane_cvl_an_alarm_and_the_daemon_keeps_going() {
    let mut h = healthy(3);
    let before = h.limits(&h.latest(0x351).unwrap());
    let silenced = Instant::now();
    for i in 0..3 {
        h.fault(i, |f| f.silent = true);
    }
    let deadline = silenced + h.options.offline_after + OFFLINE_SLACK;
    let (zero, l) = h
        .wait_for_351(silenced, deadline, |l| l.currents_are(0.0, 0.0))
        .unwrap();
    // CVL is never 0: it holds its last safe value (rule 4).
    assert!(
        l.cvl > 0.0 && close(l.cvl, before.cvl),
        "{l:?} after {before:?}"
    );
    assert!(close(l.dvl, DVL_V));
    // The next full set raises the BMS-internal alarm (byte 2 bits 6-7 = 01) and counts them.
    let alarms = h
        .wait_for(0x35A, zero, zero + Duration::from_secs(2), |h, rx| {
            h.signal(rx, "Alarm_BmsInternal") == ACTIVE
        })
        .unwrap();
    assert_eq!(alarms.frame.data()[2] >> 6, 0b01);
    let (_, m) = h
        .wait_for_372(zero, zero + Duration::from_secs(2), |m| m.offline == 3)
        .unwrap();
    assert_eq!(m.online, 0);
    let measured = h.latest(0x356).unwrap();
    assert!(
        h.signal(&measured, "BatteryVoltage") > 40.0,
        "never a zero voltage"
    );
    // Rule 7: it keeps sending zero current, and keeps running.
    let mut after = alarms.at;
    for _ in 0..2 {
        let rx = h
            .wait_for(
                0x35E,
                after + Duration::from_millis(1),
                after + Duration::from_secs(2),
                |_, _| true,
            )
            .unwrap();
        after = rx.at;
    }
    for (_, l) in h.limits_between(zero, after) {
        assert!(
            l.currents_are(0.0, 0.0) && close(l.cvl, before.cvl),
            "{l:?}"
        );
    }
    assert!(h.is_running(), "{}", h.log());
}

#[test]
fn sigterm_sends_a_last_frame_set_with_zero_current_and_exits_0() {
    let mut h = healthy(3);
    let termed = h.terminate();
    // It has one frame set to write: well within 3 s even on a loaded runner.
    let status = h.wait_exit(termed + Duration::from_secs(3)).unwrap();
    assert!(status.success(), "{status}\n{}", h.log());
    let last = h.latest(0x351).unwrap();
    let l = h.limits(&last);
    assert!(l.currents_are(0.0, 0.0), "last 0x351 {l:?}");
    assert!(close(l.cvl, CVL_V) && close(l.dvl, DVL_V), "{l:?}");
    // A whole set, after the signal: the alarms and the name went with it.
    assert!(last.at >= termed);
    for id in [0x35A, 0x35E, 0x372] {
        assert!(
            !h.frames(id, termed, Instant::now()).is_empty(),
            "no 0x{id:03X} after SIGTERM"
        );
    }
    assert!(h.log().contains("CCL = DCL = 0"), "{}", h.log());
}
