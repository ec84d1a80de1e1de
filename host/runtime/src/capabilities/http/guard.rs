//! Which addresses `http.send` may connect to. A granted name that resolves to a loopback,
//! link-local, private (RFC 1918), CGNAT (100.64/10), unique-local (fc00::/7) or unspecified
//! address (also in IPv4-mapped form) is refused unless the allow list names that address
//! literally, or names `localhost` (which may then reach loopback).
//!
//! The check runs in the client's DNS resolver ([`GuardedResolver`]), on the addresses the
//! connection is then made to, so a name that answers differently on a second lookup (DNS
//! rebinding) cannot slip past it; literal-IP URLs, which skip the resolver, are checked with the
//! same rule by [`Exemptions::check_url`]. The lookup itself is injectable, so tests need no DNS.

use std::collections::HashSet;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use switchboard_manifest::HttpGrant;
use url::{Host, Url};

/// What a lookup returns.
pub(crate) type LookupFuture = Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send>>;

/// Resolves a host name to addresses: the system resolver, or a fixed table in tests.
pub(crate) type AddressLookup = Arc<dyn Fn(String) -> LookupFuture + Send + Sync>;

/// The system resolver (`getaddrinfo` on tokio's blocking pool).
pub(crate) fn system_lookup() -> AddressLookup {
    Arc::new(|host: String| -> LookupFuture {
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(found.collect())
        })
    })
}

/// The client behind one plugin's `http.send`: no proxies (the connection must go to the
/// checked address), no automatic redirects (each hop is checked by hand), and the guarded
/// resolver for the plugin's allow list.
pub(crate) fn plugin_client(
    grant: Option<&HttpGrant>,
    lookup: AddressLookup,
) -> reqwest::Result<reqwest::Client> {
    let resolver = GuardedResolver {
        lookup,
        exemptions: Arc::new(Exemptions::of(grant)),
    };
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(resolver))
        .build()
}

/// The non-public addresses one plugin may reach anyway, from its allow list.
#[derive(Debug, Default)]
pub(crate) struct Exemptions {
    /// Addresses the allow list names literally.
    addrs: HashSet<IpAddr>,
    /// The allow list names `localhost`.
    localhost: bool,
}

/// A connection refused because of where it would go.
#[derive(Debug)]
pub(crate) struct BlockedAddress {
    pub(crate) host: String,
    pub(crate) addr: IpAddr,
}

/// Resolves names through a lookup and keeps only the addresses the plugin may reach.
struct GuardedResolver {
    lookup: AddressLookup,
    exemptions: Arc<Exemptions>,
}

impl Exemptions {
    pub(crate) fn of(grant: Option<&HttpGrant>) -> Self {
        let mut exemptions = Exemptions::default();
        for origin in grant.iter().flat_map(|g| &g.allow) {
            let host = origin.host();
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            if let Ok(ip) = bare.parse::<IpAddr>() {
                exemptions.addrs.insert(ip.to_canonical());
            } else if host == "localhost" {
                exemptions.localhost = true;
            }
        }
        exemptions
    }

    /// Whether a connection to `host` (as the URL names it) may go to `ip`.
    pub(crate) fn permits(&self, host: &str, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        is_public(ip)
            || self.addrs.contains(&ip)
            || (self.localhost && host.eq_ignore_ascii_case("localhost") && ip.is_loopback())
    }

    /// Refuses a URL whose host is an IP literal the plugin may not reach.
    pub(crate) fn check_url(&self, url: &str) -> Result<(), BlockedAddress> {
        let Ok(url) = Url::parse(url) else {
            return Ok(()); // unparsable URLs never pass the origin check
        };
        let addr = match url.host() {
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
            _ => return Ok(()),
        };
        let host = url.host_str().unwrap_or_default().to_owned();
        match self.permits(&host, addr) {
            true => Ok(()),
            false => Err(BlockedAddress { host, addr }),
        }
    }
}

impl std::fmt::Display for BlockedAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = match self.addr {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        write!(
            f,
            "`{}` resolves to {shown}, a loopback, private or link-local address; list `http://{shown}:PORT` in `capabilities.http.allow` to reach it",
            self.host
        )
    }
}

impl std::error::Error for BlockedAddress {}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let lookup = Arc::clone(&self.lookup);
        let exemptions = Arc::clone(&self.exemptions);
        Box::pin(async move {
            let found = lookup(host.clone()).await?;
            let permitted: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| exemptions.permits(&host, a.ip()))
                .collect();
            match (permitted.is_empty(), found.first()) {
                (false, _) => Ok(Box::new(permitted.into_iter()) as Addrs),
                (true, Some(first)) => Err(Box::new(BlockedAddress {
                    host,
                    addr: first.ip(),
                }) as _),
                (true, None) => Err(Box::new(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("`{host}` has no addresses"),
                )) as _),
            }
        })
    }
}

/// Whether `ip` (canonical: IPv4-mapped IPv6 already unwrapped) is reachable on the internet.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let cgnat = a == 100 && (64..128).contains(&b);
    let this_network = a == 0;
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || cgnat
        || this_network)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    let unique_local = first & 0xfe00 == 0xfc00;
    let link_local = first & 0xffc0 == 0xfe80;
    let site_local = first & 0xffc0 == 0xfec0;
    // ::a.b.c.d (deprecated IPv4-compatible) and 64:ff9b::/96 (NAT64) carry an IPv4 address.
    let embedded = match ip.segments() {
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 => Some((hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some((hi, lo)),
        _ => None,
    };
    let embedded_private = embedded.is_some_and(|(hi, lo)| {
        let v4 = Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
        !is_public_v4(v4)
    });
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || unique_local
        || link_local
        || site_local
        || embedded_private)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exemptions(allow: &[&str]) -> Exemptions {
        let list: Vec<String> = allow.iter().map(|a| format!("\"{a}\"")).collect();
        let caps = format!("http = {{ allow = [{}] }}", list.join(", "));
        let manifest = crate::test_support::manifest(&caps);
        Exemptions::of(manifest.capabilities.http.as_ref())
    }

    fn check(ip: &str, public: bool) {
        let ip: IpAddr = ip.parse().expect("ip");
        assert_eq!(is_public(ip.to_canonical()), public, "{ip}");
    }

    #[test]
    fn non_public_ranges_are_recognised() {
        for ip in [
            "127.0.0.1",
            "127.9.9.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "febf::1",
            "fc00::1",
            "fd12:3456::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "fec0::1",
        ] {
            check(ip, false);
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
        ] {
            check(ip, true);
        }
    }

    #[test]
    fn literal_addresses_and_localhost_in_the_allow_list_are_exempt() {
        let loopback: IpAddr = "127.0.0.1".parse().expect("ip");
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().expect("ip");
        let none = exemptions(&["https://crm.example.com"]);
        assert!(!none.permits("crm.example.com", loopback));
        assert!(!none.permits("localhost", loopback));
        let literal = exemptions(&["https://crm.example.com", "http://127.0.0.1:8080"]);
        assert!(literal.permits("crm.example.com", loopback));
        assert!(literal.permits("crm.example.com", mapped));
        assert!(!literal.permits("crm.example.com", "10.0.0.1".parse().expect("ip")));
        let local = exemptions(&["http://localhost:8080", "https://crm.example.com"]);
        assert!(local.permits("localhost", loopback));
        assert!(
            !local.permits("crm.example.com", loopback),
            "only `localhost` itself"
        );
        let v6 = exemptions(&["http://[::1]:8080"]);
        assert!(v6.permits("x", "::1".parse().expect("ip")));
    }

    fn resolver(answers: Vec<&'static str>, allow: &[&str]) -> GuardedResolver {
        let lookup: AddressLookup = Arc::new(move |_host: String| -> LookupFuture {
            let found = answers
                .iter()
                .map(|ip| SocketAddr::new(ip.parse().expect("ip"), 0))
                .collect();
            Box::pin(async move { Ok(found) })
        });
        GuardedResolver {
            lookup,
            exemptions: Arc::new(exemptions(allow)),
        }
    }

    async fn resolve(resolver: &GuardedResolver) -> Result<Vec<IpAddr>, String> {
        let name: Name = "crm.example.com".parse().expect("name");
        match resolver.resolve(name).await {
            Ok(addrs) => Ok(addrs.map(|a| a.ip()).collect()),
            Err(e) => Err(e.to_string()),
        }
    }

    #[tokio::test]
    async fn the_resolver_keeps_only_the_addresses_the_plugin_may_reach() {
        let allow = ["https://crm.example.com"];
        // A rebinding answer mixes a public address with a private one: only the public is used.
        let mixed = resolver(
            vec!["127.0.0.1", "93.184.216.34", "::ffff:10.0.0.1"],
            &allow,
        );
        let public: IpAddr = "93.184.216.34".parse().expect("ip");
        assert_eq!(resolve(&mixed).await, Ok(vec![public]));
        let private = resolver(vec!["169.254.169.254"], &allow);
        let err = resolve(&private).await.expect_err("blocked");
        assert!(
            err.starts_with("`crm.example.com` resolves to 169.254.169.254"),
            "{err}"
        );
        let listed = resolver(
            vec!["10.0.0.7"],
            &["https://crm.example.com", "http://10.0.0.7"],
        );
        assert_eq!(resolve(&listed).await.map(|a| a.len()), Ok(1));
    }

    #[test]
    fn literal_ip_urls_are_checked_the_same_way() {
        let ex = exemptions(&["http://127.0.0.1:8080"]);
        assert!(ex.check_url("http://127.0.0.1:8080/x").is_ok());
        assert!(ex.check_url("http://93.184.216.34/x").is_ok());
        assert!(ex.check_url("https://crm.example.com/").is_ok());
        let err = ex
            .check_url("http://[::ffff:10.0.0.1]/")
            .expect_err("blocked");
        assert_eq!(err.addr, "::ffff:10.0.0.1".parse::<IpAddr>().expect("ip"));
        assert!(ex.check_url("http://169.254.169.254/latest").is_err());
    }
}
