//! Limits on connections, so that one client cannot take the node from everyone else: at
//! most `server.max_connections` open at once, at most `server.max_connections_per_ip` from
//! one address (a connection over either is closed at once), and a connection on which the
//! client sends nothing for `server.idle_timeout_secs` while the node waits for it (a
//! request sent a byte at a time, a client that went away) is closed.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};

pub use raremesh_domain::config::net::{IpNet, Limits, client_behind};

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_ip: HashMap<IpAddr, usize>,
}

/// A TCP listener that keeps to [`Limits`].
#[derive(Debug)]
pub struct LimitedListener {
    inner: TcpListener,
    limits: Limits,
    open: Arc<Mutex<Open>>,
    refused: u64,
}

impl LimitedListener {
    /// Wraps a bound listener.
    pub fn new(inner: TcpListener, limits: Limits) -> Self {
        Self {
            inner,
            limits,
            open: Arc::default(),
            refused: 0,
        }
    }

    /// Counts the connection in, or says no.
    fn admit(&mut self, ip: IpAddr) -> Option<Slot> {
        let mut open = self.open.lock().ok()?;
        let from_ip = open.by_ip.get(&ip).copied().unwrap_or(0);
        if open.total >= self.limits.max || from_ip >= self.limits.per_ip {
            return None;
        }
        open.total += 1;
        *open.by_ip.entry(ip).or_default() += 1;
        Some(Slot {
            open: self.open.clone(),
            ip,
        })
    }
}

/// A connection's place in the counts, given back when it closes.
#[derive(Debug)]
struct Slot {
    open: Arc<Mutex<Open>>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.open.lock() {
            open.total = open.total.saturating_sub(1);
            if let Some(n) = open.by_ip.get_mut(&self.ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    open.by_ip.remove(&self.ip);
                }
            }
        }
    }
}

impl axum::serve::Listener for LimitedListener {
    type Io = LimitedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = match self.inner.accept().await {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, go on.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            match self.admit(addr.ip()) {
                Some(slot) => {
                    return (
                        LimitedStream {
                            inner: stream,
                            _slot: slot,
                            idle: self.limits.idle,
                            deadline: Box::pin(tokio::time::sleep(self.limits.idle)),
                        },
                        addr,
                    );
                }
                None => {
                    self.refused += 1;
                    if self.refused.is_power_of_two() {
                        tracing::warn!(
                            client = %addr.ip(),
                            refused = self.refused,
                            "too many connections: closing new ones (server.max_connections, server.max_connections_per_ip)"
                        );
                    }
                    drop(stream);
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// An accepted connection: counted while open, closed when the client sends nothing for
/// too long while the node waits for it.
#[derive(Debug)]
pub struct LimitedStream {
    inner: TcpStream,
    _slot: Slot,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl AsyncRead for LimitedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    let next = Instant::now() + self.idle;
                    self.deadline.as_mut().reset(next);
                }
                Poll::Ready(r)
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the client sent nothing for too long",
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl AsyncWrite for LimitedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The address of the client of a connection, for the handlers (absent in requests that
/// did not come over a connection, such as in-process tests).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, LimitedListener>>
    for ClientAddr
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, LimitedListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

/// The client's IP address, when the request came over a connection (an extractor that
/// never fails): behind a trusted proxy (`server.trusted_proxies`), the forwarded one.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl axum::extract::FromRequestParts<raremesh_domain::state::AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &raremesh_domain::state::AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<ClientAddr>>()
            .map(|c| c.0.0.ip());
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        Ok(Self(peer.map(|p| {
            client_behind(
                p,
                (!forwarded.is_empty()).then_some(forwarded.as_str()),
                &state.config.server.proxies(),
            )
        })))
    }
}
