//! The JK-PB bus poller against the simulated bus on one real pty: four addresses all read, a
//! silent address costs only its own readings (and one timeout per sweep of the others' time),
//! noise and corrupt frames are never trusted, and a frame is never credited to an address
//! whose ACK did not follow it.

use std::time::Duration;

use busbar::bus::{read_jk_pb, spawn_jk_pb_bus, BusMember, BusSettings, REPLY_TIMEOUT};
use busbar::jk02::{self, Register, Scanner};
use busbar::reader::{ReadError, Reading};
use busbar::serial::{LinkError, SerialLink};
use busbar::sim::server::{spawn_jk_pb, BusTiming};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

const PACKS: usize = 4;

fn members() -> Vec<BusMember> {
    (0..PACKS)
        .map(|i| BusMember {
            pack: i,
            address: i as u8 + 1,
        })
        .collect()
}

/// Readings until every pack in `want` has `n` good ones; returns (good count, failed count,
/// instants of the good readings) per pack.
async fn collect(
    rx: &mut mpsc::Receiver<Reading>,
    want: &[usize],
    n: usize,
) -> ([usize; PACKS], [usize; PACKS], Vec<Vec<Instant>>) {
    let mut good = [0; PACKS];
    let mut failed = [0; PACKS];
    let mut at = vec![Vec::new(); PACKS];
    while want.iter().any(|&p| good[p] < n) {
        let reading = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("readings keep coming")
            .expect("the bus task runs");
        match reading.outcome {
            Ok(snapshot) => {
                assert_eq!(
                    snapshot.check_plausible(16),
                    Ok(()),
                    "pack {}",
                    reading.pack
                );
                good[reading.pack] += 1;
                at[reading.pack].push(reading.at);
            }
            Err(_) => failed[reading.pack] += 1,
        }
    }
    (good, failed, at)
}

fn mean_period(at: &[Instant]) -> Duration {
    let n = at.len().saturating_sub(1).max(1) as u32;
    (at[at.len() - 1] - at[0]) / n
}

#[tokio::test]
async fn four_packs_on_one_pty_are_all_read_and_a_silent_one_costs_only_its_own_readings() {
    let sim = spawn_jk_pb(PACKS, 16, Instant::now(), BusTiming::default()).unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    // Poll as fast as the bus allows: the sweep itself sets the pace.
    let settings = BusSettings::new(Duration::from_millis(100));
    let task = spawn_jk_pb_bus(sim.path.clone(), members(), settings, tx);

    let (good, failed, at) = collect(&mut rx, &[0, 1, 2, 3], 4).await;
    assert_eq!(failed, [0; PACKS], "{good:?}");
    let healthy = mean_period(&at[0]);
    // Four addresses x (28 ms on the wire + 120 ms gap) is the floor of one sweep.
    assert!(healthy >= Duration::from_millis(4 * 148), "{healthy:?}");

    sim.packs[1].faults.lock().unwrap().silent = true;
    // Let the sweep in progress finish.
    let _ = collect(&mut rx, &[0, 2, 3], 2).await;
    let (good, failed, at) = collect(&mut rx, &[0, 2, 3], 5).await;
    assert_eq!(good[1], 0, "a silent address never yields a reading");
    assert!(failed[1] >= 4, "each failed visit is reported: {failed:?}");
    assert_eq!(failed[0] + failed[2] + failed[3], 0, "{failed:?}");
    for p in [0, 2, 3] {
        let period = mean_period(&at[p]);
        // The silent address costs one timeout per sweep instead of one answer, nothing more
        // (generous slack for a loaded runner).
        assert!(
            period <= healthy + REPLY_TIMEOUT + Duration::from_millis(150),
            "pack {p}: {period:?} vs healthy {healthy:?}"
        );
    }
    task.abort();
}

#[tokio::test]
async fn settings_and_device_info_are_read_and_carried_with_each_reading() {
    let sim = spawn_jk_pb(2, 16, Instant::now(), BusTiming::default()).unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let members = vec![
        BusMember {
            pack: 0,
            address: 1,
        },
        BusMember {
            pack: 1,
            address: 2,
        },
    ];
    let task = spawn_jk_pb_bus(
        sim.path.clone(),
        members,
        BusSettings::new(Duration::from_millis(100)),
        tx,
    );
    for _ in 0..4 {
        let r = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        let p = r.outcome.unwrap();
        let s = p.bms_settings.expect("settings read at the first visit");
        assert_eq!(s.cells, 16);
        assert_eq!(s.capacity_mah, 280_000);
        assert_eq!(s.max_charge_current_ma, 200_000);
        assert_eq!(p.device.manufacturer.as_str(), "JK_PB2A16S20P");
        assert_eq!(
            p.device.device_id.as_str(),
            format!("busbar sim {}", r.pack + 1)
        );
    }
    task.abort();
}

#[tokio::test]
async fn noise_is_skipped_and_a_bad_checksum_is_never_a_reading() {
    let sim = spawn_jk_pb(2, 16, Instant::now(), BusTiming::default()).unwrap();
    sim.packs[0].faults.lock().unwrap().garbage = true;
    sim.packs[1].faults.lock().unwrap().bad_checksum = true;
    let mut link = SerialLink::new(&sim.path);
    let mut scanner = Scanner::new();
    for _ in 0..3 {
        let read = read_jk_pb(
            &mut link,
            &mut scanner,
            1,
            Register::CellInfo,
            REPLY_TIMEOUT,
        )
        .await
        .unwrap();
        let frame = jk02::Frame::parse(&read.frame).unwrap();
        let p = jk02::CellInfo::decode(&frame, None).unwrap().to_snapshot();
        assert_eq!(p.check_plausible(16), Ok(()));
        tokio::time::sleep(Duration::from_millis(120)).await;
    }
    let err = read_jk_pb(
        &mut link,
        &mut scanner,
        2,
        Register::CellInfo,
        REPLY_TIMEOUT,
    )
    .await
    .unwrap_err();
    let ReadError::Link {
        source,
        bad_frames,
        last_bad,
    } = &err;
    assert!(matches!(source, LinkError::Timeout { .. }), "{err}");
    assert_eq!(*bad_frames, 1, "{err}");
    assert!(last_bad.as_deref().unwrap().contains("checksum"), "{err}");
    // An address nobody has: silence, one timeout.
    let started = Instant::now();
    let err = read_jk_pb(
        &mut link,
        &mut scanner,
        9,
        Register::CellInfo,
        REPLY_TIMEOUT,
    )
    .await
    .unwrap_err();
    assert!(started.elapsed() >= REPLY_TIMEOUT, "{err}");
}

/// A late answer of address 2 arriving while address 1 is asked (frame + ACK of 2) must not
/// become address 1's reading; nor may a frame whose ACK never comes.
#[tokio::test]
async fn a_frame_counts_only_with_the_asked_address_ack_after_it() {
    let (mut far, near) = tokio_serial::SerialStream::pair().unwrap();
    let path = {
        use tokio_serial::SerialPort;
        near.name().unwrap()
    };
    let v = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/jk02/2_1-real-rs485-capture-jk-pb-16s-lfp-304-ah-at-address-0x01-repl.hex"
    ))
    .unwrap();
    let frame: Vec<u8> = v
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(str::split_whitespace)
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect();
    let answers: Vec<Vec<u8>> = vec![
        // 1: another address's frame and ACK.
        [frame.clone(), jk02::ack(2, Register::CellInfo).to_vec()].concat(),
        // 2: the frame without any ACK.
        frame.clone(),
        // 3: right: frame, pad, our ACK.
        [
            frame.clone(),
            vec![0],
            jk02::ack(1, Register::CellInfo).to_vec(),
        ]
        .concat(),
    ];
    let far_task = tokio::spawn(async move {
        let mut buf = [0u8; 64];
        for answer in answers {
            let mut got = 0;
            while got < jk02::REQUEST_LEN {
                got += far.read(&mut buf[got..]).await.unwrap();
            }
            assert_eq!(buf[..11], jk02::request(1, Register::CellInfo));
            far.write_all(&answer).await.unwrap();
        }
        far
    });
    let mut link = SerialLink::new(&path);
    let mut scanner = Scanner::new();
    let timeout = Duration::from_millis(300);
    let err = read_jk_pb(&mut link, &mut scanner, 1, Register::CellInfo, timeout)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("acknowledged by address 2"),
        "{err}"
    );
    let err = read_jk_pb(&mut link, &mut scanner, 1, Register::CellInfo, timeout)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no ACK from address 1"), "{err}");
    let read = read_jk_pb(&mut link, &mut scanner, 1, Register::CellInfo, timeout)
        .await
        .unwrap();
    assert_eq!(read.frame.as_slice(), frame.as_slice());
    let _far = far_task.await.unwrap();
    drop(near);
}
