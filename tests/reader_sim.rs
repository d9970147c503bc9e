//! The reader against in-process simulated packs on real ptys: several ports read concurrently,
//! noise skipped, corrupt frames never trusted, a silent pack costing only its own readings.

use std::time::Duration;

use busbar::jk_nw;
use busbar::reader::{read_jk_nw, spawn_jk_nw_reader, PollSettings, ReadError, Reading};
use busbar::serial::{LinkError, SerialLink};
use busbar::sim::server::spawn_jk_nw;
use tokio::sync::mpsc;
use tokio::time::Instant;

const TIMEOUT: Duration = Duration::from_millis(500);

#[tokio::test]
async fn garbage_between_frames_is_skipped() {
    let pack = spawn_jk_nw(0, 16, Instant::now()).unwrap();
    pack.faults.lock().unwrap().garbage = true;
    let mut link = SerialLink::new(&pack.path);
    let mut decoder = jk_nw::Decoder::new();
    for _ in 0..3 {
        let read = read_jk_nw(&mut link, &mut decoder, TIMEOUT).await.unwrap();
        assert_eq!(read.reply.pack.cell_voltages_mv.len(), 16);
        assert_eq!(read.reply.pack.check_plausible(16), Ok(()));
    }
}

#[tokio::test]
async fn a_bad_checksum_is_never_a_reading() {
    let pack = spawn_jk_nw(0, 16, Instant::now()).unwrap();
    pack.faults.lock().unwrap().bad_checksum = true;
    let mut link = SerialLink::new(&pack.path);
    let mut decoder = jk_nw::Decoder::new();
    let err = read_jk_nw(&mut link, &mut decoder, Duration::from_millis(300))
        .await
        .unwrap_err();
    let ReadError::Link {
        source,
        bad_frames,
        last_bad,
        ..
    } = &err;
    assert!(matches!(source, LinkError::Timeout { .. }), "{err}");
    assert_eq!(*bad_frames, 1, "{err}");
    assert!(last_bad.as_deref().unwrap().contains("checksum"), "{err}");
    assert!(err.to_string().contains("1 bad frame"), "{err}");
}

#[tokio::test]
async fn ports_are_read_concurrently_and_a_silent_pack_does_not_slow_the_others() {
    let start = Instant::now();
    let packs: Vec<_> = (0..3).map(|i| spawn_jk_nw(i, 16, start).unwrap()).collect();
    packs[1].faults.lock().unwrap().silent = true;
    let (tx, mut rx) = mpsc::channel::<Reading>(64);
    let settings = PollSettings {
        interval: Duration::from_millis(100),
        reply_timeout: Duration::from_millis(80),
    };
    let readers: Vec<_> = packs
        .iter()
        .enumerate()
        .map(|(i, p)| spawn_jk_nw_reader(i, p.path.clone(), settings.clone(), tx.clone()))
        .collect();
    drop(tx);
    let mut good = [0u32; 3];
    let mut failed = [0u32; 3];
    // Until pack 1 and pack 3 have five good readings each: no fixed sleep.
    while good[0] < 5 || good[2] < 5 {
        let reading = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("readings keep coming")
            .expect("readers run");
        match reading.outcome {
            Ok(snapshot) => {
                assert_eq!(snapshot.check_plausible(16), Ok(()));
                good[reading.pack] += 1;
            }
            Err(_) => failed[reading.pack] += 1,
        }
    }
    assert_eq!(good[1], 0, "a silent pack never yields a reading");
    assert!(
        failed[1] >= 3,
        "the silent pack reports each failed poll: {failed:?}"
    );
    assert_eq!(failed[0] + failed[2], 0, "{failed:?}");
    for r in readers {
        r.abort();
    }
}
