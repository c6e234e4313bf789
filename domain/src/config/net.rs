//! Addresses and limits of the node's listener, as configured in `[server]`: networks of
//! trusted proxies, the client's address behind them, connection limits.

use std::net::SocketAddr;
use std::time::Duration;

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
