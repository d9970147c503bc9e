//! End to end through the real binary with a JK-PB bus: four simulated packs at addresses 1..=4
//! on ONE pty -> `busbar run` (one bus task polling them in turn) -> candump lines decoded
//! through `dbc/busbar.dbc`. Timings as `e2e_support::Options::packs` (250 ms polling, offline
//! after 2 s; a sweep of four addresses takes about 0.6 s).

mod e2e_support;

use std::time::Duration;

use e2e_support::{close, Harness, Options, CVL_V, PACK_CHARGE_A, PACK_DISCHARGE_A};

const OFFLINE_SLACK: Duration = Duration::from_millis(1500);

#[test]
fn four_packs_on_one_bus_reach_can_and_a_silent_address_drops_only_its_share() {
    let mut h = Harness::start(Options::jk_pb_bus(4));
    let spawned = h.spawned_at;
    // Start-up (rule 6): the first set goes out once every address has answered, with every
    // pack's share.
    let first = h
        .wait_for(0x351, spawned, spawned + Duration::from_secs(10), |_, _| {
            true
        })
        .unwrap();
    let l = h.limits(&first);
    assert!(
        l.currents_are(4.0 * PACK_CHARGE_A, 4.0 * PACK_DISCHARGE_A),
        "first 0x351 {l:?}\n{}",
        h.context("")
    );
    assert!(close(l.cvl, CVL_V), "{l:?}");
    let (_, m) = h
        .wait_for_372(first.at, first.at + Duration::from_secs(3), |_| true)
        .unwrap();
    assert_eq!((m.online, m.offline), (4, 0), "{m:?}");
    assert!(
        !h.log().contains("not supported"),
        "jk-pb is run, not refused: {}",
        h.log()
    );

    // Address 2 goes silent: only its share leaves, within offline_after.
    let silenced = h.fault(1, |f| f.silent = true);
    let deadline = silenced + h.options.offline_after + OFFLINE_SLACK;
    let (cut, l) = h
        .wait_for_351(silenced, deadline, |l| l.ccl < 4.0 * PACK_CHARGE_A - 0.05)
        .unwrap();
    assert!(
        l.currents_are(3.0 * PACK_CHARGE_A, 3.0 * PACK_DISCHARGE_A),
        "exactly its share: {l:?}"
    );
    let (_, m) = h
        .wait_for_372(cut, cut + Duration::from_secs(2), |m| m.offline == 1)
        .unwrap();
    assert_eq!((m.online, m.offline), (3, 1), "{m:?}");
    assert!(h.log().contains("pack2 OFFLINE"), "{}", h.log());

    // The other three keep being read: the sums hold for several more seconds and each of them
    // still answers at the bus's pace (one timeout added per sweep).
    let watch = std::time::Instant::now();
    h.collect_until(watch + Duration::from_secs(3));
    for (_, l) in h.limits_between(cut, watch + Duration::from_secs(3)) {
        assert!(
            l.currents_are(3.0 * PACK_CHARGE_A, 3.0 * PACK_DISCHARGE_A),
            "{l:?}"
        );
    }
    for pack in [0, 2, 3] {
        let replies = h.replies(pack, watch);
        assert!(
            replies.len() >= 3,
            "pack {} answered {} times in 3 s",
            pack + 1,
            replies.len()
        );
    }
    assert!(h.replies(1, watch).is_empty());

    // Back: its share returns.
    let back = h.fault(1, |f| f.silent = false);
    h.wait_for_351(back, back + Duration::from_secs(15), |l| {
        l.currents_are(4.0 * PACK_CHARGE_A, 4.0 * PACK_DISCHARGE_A)
    })
    .unwrap();
}

#[test]
fn a_charge_mosfet_off_on_the_bus_blocks_that_packs_charge_share() {
    let mut h = Harness::start(Options::jk_pb_bus(2));
    let spawned = h.spawned_at;
    h.wait_for_351(spawned, spawned + Duration::from_secs(10), |l| {
        l.currents_are(2.0 * PACK_CHARGE_A, 2.0 * PACK_DISCHARGE_A)
    })
    .unwrap();
    let off = h.fault(0, |f| f.charge_mosfet_off = true);
    let (_, l) = h
        .wait_for_351(off, off + Duration::from_secs(5), |l| {
            close(l.ccl, PACK_CHARGE_A)
        })
        .unwrap();
    assert!(close(l.dcl, 2.0 * PACK_DISCHARGE_A), "{l:?}");
}
