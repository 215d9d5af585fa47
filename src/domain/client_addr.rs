//! Who a request comes from. Behind a reverse proxy every connection is the proxy's, so the
//! client is named in `X-Forwarded-For` / `X-Real-IP`; those headers are anyone's to write,
//! so they are read only from the proxies the operator lists (`--trusted-proxies`).

use ipnet::IpNet;
use std::net::IpAddr;
use std::str::FromStr;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl FromStr for TrustedProxies {
    type Err = String;

    /// A comma-separated list of addresses and CIDR blocks (`10.0.0.0/8,127.0.0.1`).
    fn from_str(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("not an address or CIDR block: {item:?}"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }
}

impl TrustedProxies {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.0.iter().any(|net| net.contains(&addr))
    }

    /// The client of a request that arrived from `peer`. From a trusted proxy, the
    /// right-most `X-Forwarded-For` hop that is not itself a trusted proxy (the left ones
    /// were written by whoever sent the request), else `X-Real-IP`; from anyone else, `peer`.
    /// `forwarded_for` yields every `X-Forwarded-For` header in order.
    pub fn client<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
        real_ip: Option<&str>,
    ) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let mut hops = forwarded_for
            .rev()
            .flat_map(|header| header.rsplit(','))
            .map(str::trim)
            .filter(|hop| !hop.is_empty())
            .peekable();
        if hops.peek().is_none() {
            return real_ip.and_then(parse_hop).unwrap_or(peer);
        }
        let mut client = peer;
        for hop in hops {
            // A hop that is not an address ends what can be believed.
            let Some(addr) = parse_hop(hop) else {
                return client;
            };
            client = addr;
            if !self.trusts(addr) {
                break;
            }
        }
        client
    }
}

/// An address as proxies write it: bare, or with a port (`1.2.3.4:80`, `[::1]:80`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(addr) = hop.parse::<IpAddr>() {
        return Some(addr.to_canonical());
    }
    hop.parse::<std::net::SocketAddr>()
        .ok()
        .map(|s| s.ip().to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn lists_parse_and_refuse_garbage() {
        let trusted: TrustedProxies = "10.0.0.0/8, 127.0.0.1,::1".parse().unwrap();
        assert!(trusted.trusts(ip("10.1.2.3")));
        assert!(trusted.trusts(ip("::ffff:127.0.0.1")));
        assert!(!trusted.trusts(ip("11.0.0.1")));
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("proxy.internal".parse::<TrustedProxies>().is_err());
        assert!("".parse::<TrustedProxies>().unwrap().is_empty());
    }

    #[test]
    fn only_trusted_proxies_name_the_client() {
        let trusted: TrustedProxies = "127.0.0.1,10.0.0.0/8".parse().unwrap();
        let client = |peer, xff: &[&str], real: Option<&str>| {
            trusted.client(ip(peer), xff.iter().copied(), real)
        };
        // A stranger's headers are ignored.
        assert_eq!(
            client("203.0.113.9", &["1.1.1.1"], Some("2.2.2.2")),
            ip("203.0.113.9")
        );
        // A trusted proxy's last hop is the client; spoofed hops to its left are not.
        assert_eq!(
            client("127.0.0.1", &["6.6.6.6, 198.51.100.7"], None),
            ip("198.51.100.7")
        );
        // Chains of trusted proxies are walked through, across several headers.
        assert_eq!(
            client("127.0.0.1", &["198.51.100.7", "10.0.0.2"], None),
            ip("198.51.100.7")
        );
        assert_eq!(
            client("127.0.0.1", &["198.51.100.7:5555"], None),
            ip("198.51.100.7")
        );
        assert_eq!(
            client("127.0.0.1", &["[2001:db8::1]:80"], None),
            ip("2001:db8::1")
        );
        // X-Real-IP when there is no X-Forwarded-For; the peer when neither parses.
        assert_eq!(
            client("127.0.0.1", &[], Some("198.51.100.8")),
            ip("198.51.100.8")
        );
        assert_eq!(client("127.0.0.1", &[], Some("nonsense")), ip("127.0.0.1"));
        assert_eq!(
            client("127.0.0.1", &["10.0.0.3, nonsense"], None),
            ip("127.0.0.1")
        );
        assert_eq!(
            client("127.0.0.1", &["nonsense, 10.0.0.3"], None),
            ip("10.0.0.3")
        );
        // Every hop trusted: the left-most one.
        assert_eq!(
            client("127.0.0.1", &["10.0.0.4, 10.0.0.3"], None),
            ip("10.0.0.4")
        );
    }

    #[test]
    fn nobody_is_trusted_by_default() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("127.0.0.1"), ["1.1.1.1"].into_iter(), None),
            ip("127.0.0.1")
        );
    }
}
