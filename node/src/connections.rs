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

/// The limits, from `[server]`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once, in all.
    pub max: usize,
    /// Connections open at once from one address.
    pub per_ip: usize,
    /// How long the node waits for a client's next bytes.
    pub idle: Duration,
}

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

/// An address or a network (`10.0.0.0/8`, `fd00::/8`, `127.0.0.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: std::net::IpAddr,
    prefix: u8,
}

impl std::str::FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: std::net::IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or a network such as 10.0.0.0/8"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| (1..=max).contains(p))
                .ok_or_else(|| {
                    format!("{s:?}: the prefix length must be 1 to {max} (0 would trust everyone)")
                })?,
        };
        // An IPv4 network written as IPv6 (`::ffff:10.0.0.0/104`) is that IPv4 network.
        match addr {
            std::net::IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
                Some(v4) => Ok(Self {
                    addr: std::net::IpAddr::V4(v4),
                    prefix: prefix - 96,
                }),
                None => Ok(Self { addr, prefix }),
            },
            _ => Ok(Self { addr, prefix }),
        }
    }
}

impl IpNet {
    /// Whether `ip` is in this network (IPv4 addresses mapped into IPv6 count as IPv4).
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The client's address behind `proxies`: the connection's, unless it is a trusted proxy;
/// then the last address of `X-Forwarded-For` that is not one (the ones before it could
/// have been written by the client itself).
pub fn client_behind(
    peer: std::net::IpAddr,
    forwarded: Option<&str>,
    proxies: &[IpNet],
) -> std::net::IpAddr {
    let trusted = |ip: std::net::IpAddr| proxies.iter().any(|p| p.contains(ip));
    if !trusted(peer) {
        return peer;
    }
    let Some(forwarded) = forwarded else {
        return peer;
    };
    let mut last = peer;
    for hop in forwarded
        .rsplit(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
    {
        match forwarded_ip(hop) {
            Some(ip) if trusted(ip) => last = ip,
            Some(ip) => return ip,
            // Something this node cannot read: the last address it could trust.
            None => return last,
        }
    }
    last
}

/// An address of `X-Forwarded-For`: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or
/// `[2001:db8::1]:443`.
fn forwarded_ip(hop: &str) -> Option<std::net::IpAddr> {
    hop.parse::<std::net::IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse().ok())
        })
}

/// The client's IP address, when the request came over a connection (an extractor that
/// never fails): behind a trusted proxy (`server.trusted_proxies`), the forwarded one.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl axum::extract::FromRequestParts<crate::state::AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &crate::state::AppState,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> std::net::IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn networks_contain_their_addresses() {
        let net: IpNet = "172.16.0.0/12".parse().expect("net");
        assert!(net.contains(ip("172.20.1.2")));
        assert!(net.contains(ip("::ffff:172.20.1.2")));
        assert!(!net.contains(ip("172.32.0.1")));
        let one: IpNet = "::1".parse().expect("one");
        assert!(one.contains(ip("::1")) && !one.contains(ip("::2")));
        assert!(
            "0.0.0.0/0".parse::<IpNet>().is_err(),
            "never trust everyone"
        );
        let mapped: IpNet = "::ffff:10.0.0.0/104".parse().expect("mapped");
        assert!(mapped.contains(ip("10.1.2.3")) && mapped.contains(ip("::ffff:10.1.2.3")));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("proxy".parse::<IpNet>().is_err());
    }

    #[test]
    fn the_forwarded_address_counts_only_behind_a_trusted_proxy() {
        let proxies = ["10.0.0.0/8".parse().expect("net")];
        // Not from a proxy: the header is the client's own words.
        assert_eq!(
            client_behind(ip("203.0.113.9"), Some("198.51.100.1"), &proxies),
            ip("203.0.113.9")
        );
        // From the proxy: the last address the proxies did not write themselves.
        assert_eq!(
            client_behind(
                ip("10.0.0.2"),
                Some("1.2.3.4, 198.51.100.1, 10.0.0.3"),
                &proxies
            ),
            ip("198.51.100.1")
        );
        assert_eq!(
            client_behind(ip("10.0.0.2"), None, &proxies),
            ip("10.0.0.2")
        );
        assert_eq!(
            client_behind(ip("10.0.0.2"), Some("garbage"), &proxies),
            ip("10.0.0.2")
        );
        // Ports, brackets and empty entries, as proxies write them.
        for header in [
            "198.51.100.1:5678",
            "198.51.100.1, ",
            "[2001:db8::1]:443",
            "2001:db8::1",
        ] {
            let got = client_behind(ip("10.0.0.2"), Some(header), &proxies);
            assert_ne!(got, ip("10.0.0.2"), "{header}");
        }
        // No proxies configured: never the header.
        assert_eq!(
            client_behind(ip("10.0.0.2"), Some("198.51.100.1"), &[]),
            ip("10.0.0.2")
        );
    }
}
