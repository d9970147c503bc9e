//! The HTTP side of monitoring (axum):
//!
//! | Path | What |
//! |---|---|
//! | `GET /` | the live status page: one self-contained HTML file, no external assets |
//! | `GET /api/state` | [`Status`] as JSON (`docs/api-state.schema.json`) |
//! | `GET /api/events` | server-sent events: the same JSON each time it changes (≤ 4 a second) |
//! | `GET /metrics` | Prometheus text format ([`metrics`]) |
//!
//! Every handler reads the newest [`Status`] from the watch channel (an `Arc` clone) and never
//! holds it across an await, so no client can hold the publisher back.

pub mod metrics;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::stream::Stream;
use tokio::sync::Semaphore;

use super::{Status, StatusReceiver};

/// The status page, served as is.
const PAGE: &str = include_str!("page.html");

/// At most this often an event stream sends: a page redrawing more often than this shows nothing
/// more, and a Pi has better things to do.
const EVENT_MIN_GAP: Duration = Duration::from_millis(250);

/// Open event streams at once; more get 503 (the page then polls `/api/state`). A client that
/// stops reading costs what hyper buffers for it before it stops asking the stream for more
/// (about 400 kB of events), so the bound is what keeps stalled pages (or an attacker on the LAN)
/// from eating the Pi's memory. A household has a few pages open, not eight.
const MAX_EVENT_STREAMS: usize = 8;

/// Open connections at once; the next one waits in the kernel's backlog until one closes. Each
/// holds buffers and, when its client stalls, an unsent answer (tens of kB with 16 packs): the
/// bound keeps the daemon's memory bounded whatever clients do. A browser uses a handful.
const MAX_CONNECTIONS: usize = 64;

/// Why the HTTP server could not run.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("HTTP server: {0}")]
    Serve(#[source] std::io::Error),
}

/// Bind now (in the caller's thread, so a port in use is reported at start-up); serve later.
pub fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, HttpError> {
    let bind_error = |source| HttpError::Bind { addr, source };
    let listener = std::net::TcpListener::bind(addr).map_err(bind_error)?;
    listener.set_nonblocking(true).map_err(bind_error)?;
    Ok(listener)
}

#[derive(Clone)]
struct AppState {
    status: StatusReceiver,
    streams: Arc<Semaphore>,
}

/// The routes, on `status`.
pub fn router(status: StatusReceiver) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/state", get(api_state))
        .route("/api/events", get(events))
        .route("/metrics", get(metrics_text))
        .with_state(AppState {
            status,
            streams: Arc::new(Semaphore::new(MAX_EVENT_STREAMS)),
        })
}

/// Serve on `listener` until the task is dropped.
pub async fn serve(
    listener: std::net::TcpListener,
    status: StatusReceiver,
) -> Result<(), HttpError> {
    let listener = tokio::net::TcpListener::from_std(listener).map_err(HttpError::Serve)?;
    if let Ok(addr) = listener.local_addr() {
        tracing::info!("status page on http://{addr}/");
    }
    let listener = Bounded {
        inner: listener,
        slots: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
    };
    axum::serve(listener, router(status))
        .await
        .map_err(HttpError::Serve)
}

/// A TCP listener that keeps at most [`MAX_CONNECTIONS`] connections open.
struct Bounded {
    inner: tokio::net::TcpListener,
    slots: Arc<Semaphore>,
}

impl axum::serve::Listener for Bounded {
    type Io = Counted;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Counted, SocketAddr) {
        // The semaphore is never closed, so acquiring only ever waits.
        let Ok(slot) = Arc::clone(&self.slots).acquire_owned().await else {
            return std::future::pending().await;
        };
        let (io, addr) = axum::serve::Listener::accept(&mut self.inner).await;
        (Counted { io, _slot: slot }, addr)
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// A connection that gives its slot back when it is dropped.
struct Counted {
    io: tokio::net::TcpStream,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl tokio::io::AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

fn newest(state: &AppState) -> Option<Arc<Status>> {
    state.status.borrow().clone()
}

async fn page() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-cache")], Html(PAGE))
}

async fn api_state(State(state): State<AppState>) -> Response {
    match newest(&state) {
        Some(status) => axum::Json(&*status).into_response(),
        None => starting(),
    }
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    match newest(&state) {
        Some(status) => (
            [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
            metrics::encode(&status),
        )
            .into_response(),
        None => starting(),
    }
}

/// Before the daemon's first loop turn there is nothing true to say.
fn starting() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "1")],
        "busbar is starting\n",
    )
        .into_response()
}

async fn events(State(state): State<AppState>) -> Response {
    let Ok(permit) = Arc::clone(&state.streams).try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many open event streams; poll /api/state instead\n",
        )
            .into_response();
    };
    let stream = status_events(state.status.clone(), permit);
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// One event per new status, at most every [`EVENT_MIN_GAP`]; the first at once. A client that
/// reads slowly only ever gets the newest value: the watch channel keeps one.
fn status_events(
    receiver: StatusReceiver,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold(
        (receiver, permit, true),
        |(mut receiver, permit, first)| async move {
            if !first {
                tokio::time::sleep(EVENT_MIN_GAP).await;
                // The daemon gone = the stream ends.
                receiver.changed().await.ok()?;
            }
            let status = receiver.borrow_and_update().clone();
            let event = match status {
                Some(status) => Event::default()
                    .event("status")
                    .json_data(&*status)
                    .unwrap_or_else(|e| Event::default().event("error").data(e.to_string())),
                None => Event::default().event("starting").data("{}"),
            };
            Some((Ok(event), (receiver, permit, false)))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use crate::monitor::status::fixture;

    async fn get(router: &Router, path: &str) -> Response {
        router
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).expect("a request"))
            .await
            .expect("the router is infallible")
    }

    #[tokio::test]
    async fn before_the_first_status_the_api_says_starting_not_zeros() {
        let (_tx, rx) = tokio::sync::watch::channel(None);
        let router = router(rx);
        for path in ["/api/state", "/metrics"] {
            let response = get(&router, path).await;
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
            assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        }
        // The page itself is there, and says it waits.
        assert_eq!(get(&router, "/").await.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn api_state_is_the_newest_status() {
        let (tx, rx) = tokio::sync::watch::channel(None);
        let router = router(rx);
        let mut status = fixture::status();
        tx.send_replace(Some(Arc::new(status.clone())));
        status.uptime_s = 99.0;
        tx.send_replace(Some(Arc::new(status)));
        let response = get(&router, "/api/state").await;
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("a body");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(json["uptime_s"], 99.0);
    }

    #[tokio::test]
    async fn event_streams_are_bounded() {
        let (_tx, rx) = tokio::sync::watch::channel(Some(Arc::new(fixture::status())));
        let router = router(rx);
        // Held open (never read), as a stalled client would.
        let mut open = Vec::new();
        for _ in 0..MAX_EVENT_STREAMS {
            let response = get(&router, "/api/events").await;
            assert_eq!(response.status(), StatusCode::OK);
            open.push(response);
        }
        assert_eq!(
            get(&router, "/api/events").await.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        // One closes: one more may open.
        open.pop();
        assert_eq!(get(&router, "/api/events").await.status(), StatusCode::OK);
    }
}
