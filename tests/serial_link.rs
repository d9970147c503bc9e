//! The serial transport over real pseudo-terminals: answers, silence, and an adapter that
//! vanishes (its pty closes) and must be reopened with backoff instead of spun on.

use std::time::Duration;

use busbar::serial::{Backoff, LinkError, SerialLink};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_serial::{SerialPort, SerialStream};

/// A device on the far end of a pty that answers each request byte with `answer`.
fn device(answer: &'static [u8]) -> (String, tokio::task::JoinHandle<()>, SerialStream) {
    let (mut master, slave) = SerialStream::pair().unwrap();
    let path = slave.name().unwrap();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 64];
        while let Ok(n) = master.read(&mut buf).await {
            if n == 0 {
                break;
            }
            // Split the answer in two writes: readers must reassemble.
            let (a, b) = answer.split_at(answer.len() / 2);
            master.write_all(a).await.unwrap();
            master.write_all(b).await.unwrap();
        }
    });
    (path, task, slave)
}

fn until_len(want: usize) -> impl FnMut(&[u8]) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    move |chunk| {
        got.extend_from_slice(chunk);
        (got.len() >= want).then(|| got.clone())
    }
}

#[tokio::test]
async fn an_answer_split_across_reads_is_reassembled() {
    let (path, _device, _slave) = device(b"HELLO WORLD");
    let mut link = SerialLink::new(&path);
    let answer = link
        .exchange(b"?", Duration::from_secs(2), until_len(11))
        .await
        .unwrap();
    assert_eq!(answer, b"HELLO WORLD");
    assert!(link.is_open());
}

#[tokio::test]
async fn silence_is_a_timeout_and_keeps_the_port_open() {
    let (_master, slave) = SerialStream::pair().unwrap();
    let path = slave.name().unwrap();
    let mut link = SerialLink::new(&path);
    let err = link
        .exchange(b"?", Duration::from_millis(100), until_len(1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, LinkError::Timeout { received: 0, .. }),
        "{err}"
    );
    assert!(link.is_open(), "a silent BMS is not a broken adapter");
}

#[tokio::test]
async fn a_missing_port_is_an_open_error_then_waits_for_the_backoff() {
    let mut link = SerialLink::new("/dev/busbar-no-such-port").with_backoff(Backoff::new(
        Duration::from_secs(60),
        Duration::from_secs(60),
    ));
    let err = link
        .exchange(b"?", Duration::from_millis(100), until_len(1))
        .await
        .unwrap_err();
    assert!(matches!(err, LinkError::Open { .. }), "{err}");
    // Asking again at once does not touch the port: no spinning on a dead adapter.
    let err = link
        .exchange(b"?", Duration::from_millis(100), until_len(1))
        .await
        .unwrap_err();
    assert!(matches!(err, LinkError::Waiting { .. }), "{err}");
}

#[tokio::test]
async fn a_vanished_adapter_closes_the_link() {
    let (path, device_task, slave) = device(b"OK");
    let mut link = SerialLink::new(&path).with_backoff(Backoff::new(
        Duration::from_secs(60),
        Duration::from_secs(60),
    ));
    link.exchange(b"?", Duration::from_secs(2), until_len(2))
        .await
        .unwrap();
    // Unplug: both ends of the pty go away, as when a USB adapter is pulled.
    device_task.abort();
    let _ = device_task.await;
    drop(slave);
    let err = link
        .exchange(b"?", Duration::from_secs(2), until_len(2))
        .await
        .unwrap_err();
    assert!(
        matches!(err, LinkError::Gone { .. } | LinkError::Io { .. }),
        "{err}"
    );
    assert!(!link.is_open());
    // The next poll does not hammer the port: it waits for the backoff.
    let err = link
        .exchange(b"?", Duration::from_millis(100), until_len(2))
        .await
        .unwrap_err();
    assert!(matches!(err, LinkError::Waiting { .. }), "{err}");
}
