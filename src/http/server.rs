//! Accepting connections. `axum::serve` gives hyper no timer, so hyper's header read timeout
//! never fires there; this loop sets one, and bounds the rest of a connection's life too:
//!
//! * a connection must send its first bytes (enough to tell HTTP/1 from the HTTP/2 preface)
//!   within the header read timeout, or it is closed; hyper's own version sniff waits for
//!   ever, and its HTTP/1 header timer starts only after it;
//! * a connection with no request in flight for that long is closed (HTTP/1 keep-alive and
//!   HTTP/2 alike: an HTTP/2 client that only answers pings is idle);
//! * at most `max_connections` are served at once; past it new ones wait in the listen
//!   backlog, and the soft limit on open files is raised to the hard one at start, so the
//!   process does not run out of descriptors first.
//!
//! Under TLS the handshake and the first bytes inside it share that first deadline, and each
//! connection takes the TLS configuration in force when it is accepted (see `tls`).

use axum::extract::ConnectInfo;
use axum::middleware::AddExtension;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower::Service;

use super::hot_path::HotPath;
use super::tls::Tls;
use axum::body::{Bytes, HttpBody};
use axum::http::Request;
use axum::response::Response;
use std::convert::Infallible;

#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// How long a client may take to send a request's headers (or its first bytes), and
    /// how long a connection may sit with no request in flight.
    pub header_read: Duration,
    pub max_connections: usize,
}

/// The app as served to one connection (it knows the peer's address).
type AppService = AddExtension<Router, ConnectInfo<SocketAddr>>;

/// What a listener serves: the router, and the routes answered before it, if any.
pub struct App {
    pub router: Router,
    pub hot: Option<HotPath>,
}

impl From<Router> for App {
    fn from(router: Router) -> Self {
        Self { router, hot: None }
    }
}

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Streams one HTTP/2 connection may have open at once (the RFC's recommended floor).
const H2_MAX_STREAMS: u32 = 100;

/// Serves `app` until `shutdown` resolves, then lets the requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    app: impl Into<App>,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve_with_tls(listener, app, limits, None, shutdown).await
}

/// As `serve`, over TLS when `tls` is given.
pub async fn serve_with_tls(
    listener: TcpListener,
    app: impl Into<App>,
    limits: ConnectionLimits,
    tls: Option<Arc<Tls>>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    raise_open_files_limit(limits.max_connections);
    let App { router, hot } = app.into();
    let mut make_service = router.into_make_service_with_connect_info::<SocketAddr>();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.header_read))
        .keep_alive_timeout(limits.header_read)
        .max_concurrent_streams(H2_MAX_STREAMS);
    let builder = Arc::new(builder);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let tower_service = match make_service.call(peer).await {
            Ok(service) => service,
            Err(never) => match never {},
        };
        let service = Tracked {
            inner: tower_service,
            hot: hot.clone(),
            peer,
            activity: Arc::new(Activity::new()),
        };
        tokio::spawn(connection(
            stream,
            tls.as_ref().map(|tls| tls.acceptor()),
            service,
            builder.clone(),
            limits.header_read,
            stopping.clone(),
            slot,
        ));
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a slot until it ends: having them all back means all ended.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    Ok(())
}

/// Serves one connection, after its TLS handshake when `tls` is given.
async fn connection(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    service: Tracked,
    builder: Arc<Builder<TokioExecutor>>,
    idle: Duration,
    mut stopping: watch::Receiver<bool>,
    slot: OwnedSemaphorePermit,
) {
    let opened = Instant::now() + idle;
    let Some(tls) = tls else {
        return serve_connection(stream, opened, service, builder, idle, stopping, slot).await;
    };
    let stream = tokio::select! {
        accepted = tokio::time::timeout_at(opened, tls.accept(stream)) => match accepted {
            Ok(Ok(stream)) => stream,
            Ok(Err(err)) => {
                // Plain HTTP on the TLS port, an unknown CA on the client, a scanner.
                tracing::debug!(error = %err, "TLS handshake failed");
                return;
            }
            // Silent or stalled inside the handshake: close.
            Err(_) => return,
        },
        _ = stopping.changed() => return,
    };
    serve_connection(stream, opened, service, builder, idle, stopping, slot).await
}

/// Serves one connection until it ends, is idle for `idle`, or the server stops; its first
/// bytes must arrive by `first_by`.
async fn serve_connection<S>(
    mut stream: S,
    first_by: Instant,
    service: Tracked,
    builder: Arc<Builder<TokioExecutor>>,
    idle: Duration,
    mut stopping: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let first = tokio::select! {
        read = tokio::time::timeout_at(first_by, read_version(&mut stream)) => match read {
            Ok(Ok(Some(first))) => first,
            // Silent, closed, or still inside the HTTP/2 preface: close.
            _ => return,
        },
        // Nothing was asked yet, so nothing is left to finish.
        _ = stopping.changed() => return,
    };
    let activity = service.activity.clone();
    let io = TokioIo::new(Replay {
        first,
        at: 0,
        inner: stream,
    });
    let conn = builder
        .serve_connection_with_upgrades(io, TowerToHyperService::new(service))
        .into_owned();
    tokio::pin!(conn);
    let mut closing = false;
    // After an idle close the peer gets this long to let go before it is dropped.
    let mut give_up: Option<Instant> = None;
    loop {
        let check = give_up.unwrap_or_else(|| activity.idle_deadline(idle));
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(err) = done {
                    tracing::debug!(error = %err, "connection ended with an error");
                }
                return;
            }
            _ = stopping.changed(), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = tokio::time::sleep_until(check), if !closing || give_up.is_some() => {
                if give_up.is_some() {
                    return;
                }
                if activity.idle_for(idle) {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                    give_up = Some(Instant::now() + idle);
                }
            }
        }
    }
}

/// Reads until the bytes are the whole HTTP/2 preface or no prefix of it (an HTTP/1
/// request line); `None` when the peer closes first.
async fn read_version<S: AsyncRead + Unpin>(stream: &mut S) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = [0u8; H2_PREFACE.len()];
    let mut n = 0;
    while n < buf.len() && buf[..n] == H2_PREFACE[..n] {
        let read = stream.read(&mut buf[n..]).await?;
        if read == 0 {
            return Ok(None);
        }
        n += read;
    }
    Ok(Some(buf[..n].to_vec()))
}

/// The connection with the bytes `read_version` took put back in front.
struct Replay<S> {
    first: Vec<u8>,
    at: usize,
    inner: S,
}

impl<S: AsyncRead + Unpin> AsyncRead for Replay<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let left = &this.first[this.at..];
        if !left.is_empty() {
            let n = left.len().min(buf.remaining());
            buf.put_slice(&left[..n]);
            this.at += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Replay<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Requests in flight on one connection, and when the last one ended.
struct Activity {
    started: Instant,
    in_flight: AtomicUsize,
    last_millis: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            in_flight: AtomicUsize::new(0),
            last_millis: AtomicU64::new(0),
        }
    }

    fn last(&self) -> Instant {
        self.started + Duration::from_millis(self.last_millis.load(Ordering::Acquire))
    }

    /// When the connection would have been idle for `idle`; while a request runs, one
    /// more `idle` from now (it is looked at again then).
    fn idle_deadline(&self, idle: Duration) -> Instant {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            Instant::now() + idle
        } else {
            self.last() + idle
        }
    }

    fn idle_for(&self, idle: Duration) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0 && self.last().elapsed() >= idle
    }
}

/// Counts one request in flight until dropped.
struct Busy(Arc<Activity>);

impl Busy {
    fn new(activity: Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        Self(activity)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let millis = self.0.started.elapsed().as_millis();
        self.0
            .last_millis
            .store(u64::try_from(millis).unwrap_or(u64::MAX), Ordering::Release);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The app's service for one connection: the hot routes first, then the router; counting
/// the connection's requests in flight.
#[derive(Clone)]
struct Tracked {
    inner: AppService,
    hot: Option<HotPath>,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

impl<B> Service<Request<B>> for Tracked
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        <AppService as Service<Request<B>>>::poll_ready(&mut self.inner, cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let busy = Busy::new(self.activity.clone());
        let request = match &self.hot {
            Some(hot) => match hot.answer(request, self.peer) {
                Ok(answer) => {
                    return Box::pin(async move {
                        let response = answer.await;
                        drop(busy);
                        Ok(response)
                    })
                }
                Err(request) => request,
            },
            None => request,
        };
        let response = self.inner.call(request);
        Box::pin(async move {
            let out = response.await;
            drop(busy);
            out
        })
    }
}

/// Raises the soft limit on open files to the hard limit: each connection is a descriptor,
/// and the usual soft limit (1024) is far below `max_connections`.
fn raise_open_files_limit(max_connections: usize) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct they are given.
    let raised = unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return;
        }
        if limit.rlim_cur < limit.rlim_max {
            let wanted = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) == 0 {
                limit = wanted;
            }
        }
        limit.rlim_cur
    };
    // Descriptors beyond connections: the database pool, the log, the listener.
    if (raised as u128) < max_connections as u128 + 64 {
        tracing::warn!(
            open_files = raised as u64,
            max_connections,
            "the open-files limit is below --max-connections; raise it (ulimit -n, LimitNOFILE=)"
        );
    }
}
