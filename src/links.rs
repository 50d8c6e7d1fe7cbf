//! Links staff post: whether one points at the public internet, and the form used to spot the
//! same page posted twice.
//!
//! Invariants:
//! - An allow rule, not a deny list: a host is accepted only when it is a globally routable
//!   unicast address, or a domain name with a public top-level domain. Everything else (the
//!   IANA special-purpose address blocks, special-use and private-use names, bare host names)
//!   is refused, so a new way of writing "this machine" is refused by default.
//! - Pure: no DNS lookup. A public name may still resolve to a private address; a fetcher that
//!   follows links must check the address it connects to (nothing in this program fetches
//!   posted links).

use std::net::{Ipv4Addr, Ipv6Addr};

/// Why a link was refused, in words for the person who posted it.
pub type Refusal = String;

/// IPv4 blocks that are not globally routable unicast, from the IANA IPv4 Special-Purpose
/// Address Registry (plus multicast and the reserved 240/4): (network, prefix length).
const V4_NOT_GLOBAL: &[([u8; 4], u8)] = &[
    ([0, 0, 0, 0], 8),       // "this network"
    ([10, 0, 0, 0], 8),      // private
    ([100, 64, 0, 0], 10),   // shared address space (carrier-grade NAT)
    ([127, 0, 0, 0], 8),     // loopback
    ([169, 254, 0, 0], 16),  // link local
    ([172, 16, 0, 0], 12),   // private
    ([192, 0, 0, 0], 24),    // IETF protocol assignments
    ([192, 0, 2, 0], 24),    // documentation (TEST-NET-1)
    ([192, 31, 196, 0], 24), // AS112
    ([192, 52, 193, 0], 24), // AMT
    ([192, 88, 99, 0], 24),  // 6to4 relay anycast (deprecated)
    ([192, 168, 0, 0], 16),  // private
    ([192, 175, 48, 0], 24), // direct delegation AS112
    ([198, 18, 0, 0], 15),   // benchmarking
    ([198, 51, 100, 0], 24), // documentation (TEST-NET-2)
    ([203, 0, 113, 0], 24),  // documentation (TEST-NET-3)
    ([224, 0, 0, 0], 4),     // multicast
    ([240, 0, 0, 0], 4),     // reserved, and the limited broadcast address
];

/// Inside the global unicast range 2000::/3 (the only IPv6 range accepted), the blocks the
/// IANA IPv6 Special-Purpose Address Registry marks as not globally reachable or that embed
/// another address: (network, prefix length).
const V6_NOT_GLOBAL: &[([u16; 8], u8)] = &[
    ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23), // IETF protocol assignments (Teredo, ORCHID, …)
    ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), // documentation
    ([0x2002, 0, 0, 0, 0, 0, 0, 0], 16), // 6to4: embeds an IPv4 address
    ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), // documentation
    ([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16), // segment routing (SRv6) SIDs
];

/// Top-level and second-level names that never reach the public internet: the IANA
/// Special-Use Domain Names registry, ICANN's private-use `.internal`, and the names networks
/// commonly use for themselves (`.corp`, `.lan`, `.home`, `.intranet`…).
const PRIVATE_NAMES: &[&str] = &[
    "localhost",
    "local",
    "internal",
    "test",
    "invalid",
    "onion",
    "alt",
    "arpa",
    "example",
    "corp",
    "lan",
    "home",
    "intranet",
    "private",
    "localdomain",
    "domain",
    "workgroup",
];

fn v4_in(ip: Ipv4Addr, net: [u8; 4], len: u8) -> bool {
    let mask = if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn v6_in(ip: Ipv6Addr, net: [u16; 8], len: u8) -> bool {
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    };
    (u128::from(ip) & mask) == (u128::from(Ipv6Addr::from(net)) & mask)
}

/// Whether an IPv4 address is globally routable unicast.
pub fn is_global_v4(ip: Ipv4Addr) -> bool {
    !V4_NOT_GLOBAL.iter().any(|(net, len)| v4_in(ip, *net, *len))
}

/// Whether an IPv6 address is globally routable unicast: inside 2000::/3 and outside every
/// special-purpose block there. Mapped, compatible and NAT64 forms of IPv4 addresses lie
/// outside 2000::/3 and are refused with it.
pub fn is_global_v6(ip: Ipv6Addr) -> bool {
    v6_in(ip, [0x2000, 0, 0, 0, 0, 0, 0, 0], 3)
        && !V6_NOT_GLOBAL.iter().any(|(net, len)| v6_in(ip, *net, *len))
}

/// Whether a domain name (as the URL parser gives it: lowercase, IDNA-encoded) is one the
/// public internet can resolve: at least two labels, a top-level label of letters (or an
/// internationalised `xn--` one), and no private or special-use name at the top.
pub fn is_public_domain(domain: &str) -> bool {
    let d = domain.strip_suffix('.').unwrap_or(domain);
    let labels: Vec<&str> = d.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
        return false;
    }
    let top = labels[labels.len() - 1];
    let letters = top.len() >= 2 && top.chars().all(|c| c.is_ascii_alphabetic());
    if !(letters || top.starts_with("xn--")) || PRIVATE_NAMES.contains(&top) {
        return false;
    }
    // `home.arpa` and friends are covered by `arpa`; a private name as the second level under a
    // public one (`foo.local.com`) is an ordinary public name.
    true
}

/// Checks that `url`'s host and port point at the public internet.
pub fn check_public(url: &url::Url) -> Result<(), Refusal> {
    const PRIVATE: &str =
        "links to local, private or reserved network addresses are not allowed: post a public link";
    let public = match url.host() {
        None => return Err("the link has no host name".into()),
        Some(url::Host::Domain(d)) => is_public_domain(d),
        Some(url::Host::Ipv4(ip)) => is_global_v4(ip),
        Some(url::Host::Ipv6(ip)) => is_global_v6(ip),
    };
    if !public {
        return Err(PRIVATE.into());
    }
    if url.port() == Some(0) {
        return Err("the link's port is 0, which no web server uses".into());
    }
    Ok(())
}

/// Percent-escapes of unreserved characters decoded (`%70` is `p`), others uppercased, as
/// RFC 3986 §6.2.2 normalises them.
fn normalise_escapes(s: &str) -> String {
    if !s.is_ascii() {
        // A serialised URL is ASCII; anything else is left as it is.
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = &s[i + 1..i + 3];
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                let c = v as char;
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~') {
                    out.push(c);
                } else {
                    out.push('%');
                    out.push_str(&hex.to_ascii_uppercase());
                }
                i += 3;
                continue;
            }
        }
        out.push(b[i] as char);
        i += 1;
    }
    out
}

/// Query keys that only track where a click came from (compared lowercase).
fn is_tracking(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.starts_with("utm_") || matches!(k.as_str(), "fbclid" | "gclid" | "mc_cid" | "mc_eid")
}

/// The form of a URL used to spot duplicates: no fragment, no tracking parameters (any case),
/// no trailing slash or trailing dot on the host, unreserved percent-escapes decoded, scheme
/// and host lowercased (the parser does that), `http` and `https` alike.
pub fn duplicate_key(url: &url::Url) -> String {
    let mut u = url.clone();
    u.set_fragment(None);
    if let Some(url::Host::Domain(d)) = url.host() {
        if let Some(bare) = d.strip_suffix('.') {
            // Cannot fail: the name without its root dot is still a valid host.
            let _ = u.set_host(Some(bare));
        }
    }
    let kept: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| !is_tracking(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        u.set_query(None);
    } else {
        u.query_pairs_mut().clear().extend_pairs(kept);
    }
    let s = normalise_escapes(u.as_str());
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(&s);
    s.trim_end_matches('/').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(s: &str) -> bool {
        check_public(&url::Url::parse(s).unwrap()).is_ok()
    }

    /// One row per special-purpose range (and private name), with an address inside it.
    #[test]
    fn only_globally_routable_hosts_are_public() {
        for bad in [
            "https://0.1.2.3/",
            "https://10.0.0.1/",
            "https://100.64.0.1/",
            "https://127.0.0.1/",
            "https://169.254.169.254/",
            "https://172.16.0.1/",
            "https://172.31.255.255/",
            "https://192.0.0.8/",
            "https://192.0.2.1/",
            "https://192.31.196.1/",
            "https://192.52.193.1/",
            "https://192.88.99.1/",
            "https://192.168.1.1/",
            "https://192.175.48.1/",
            "https://198.18.0.1/",
            "https://198.19.255.1/",
            "https://198.51.100.1/",
            "https://203.0.113.1/",
            "https://224.0.0.1/",
            "https://239.255.255.250/",
            "https://240.0.0.1/",
            "https://255.255.255.255/",
            "https://0x7f.1/",
            "https://2130706433/",
            "https://[::]/",
            "https://[::1]/",
            "https://[::127.0.0.1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[64:ff9b::127.0.0.1]/",
            "https://[64:ff9b:1::1]/",
            "https://[100::1]/",
            "https://[2001::1]/",
            "https://[2001:db8::1]/",
            "https://[2002:7f00:1::1]/",
            "https://[3fff::1]/",
            "https://[5f00::1]/",
            "https://[fc00::1]/",
            "https://[fd12:3456::1]/",
            "https://[fe80::1]/",
            "https://[ff02::1]/",
            "https://localhost/",
            "https://a.localhost/",
            "https://printer.local/",
            "https://metadata.google.internal/",
            "https://wiki.corp/",
            "https://nas.lan/",
            "https://router.home.arpa/",
            "https://x.test/",
            "https://x.invalid/",
            "https://x.onion/",
            "https://x.example/",
            "https://intranet/",
            "https://www.nhs.uk:0/",
        ] {
            assert!(!public(bad), "{bad} was accepted");
        }
        for good in [
            "https://www.nhs.uk/",
            "https://www.nhs.uk./page",
            "https://www.england.nhs.uk:443/x",
            "https://8.8.8.8/",
            "https://1.1.1.1/",
            "https://[2a00:1450:4009:81f::200e]/",
            "https://xn--bcher-kva.example.com/",
            "https://local.example.com/",
        ] {
            assert!(public(good), "{good} was refused");
        }
    }

    #[test]
    fn the_same_page_written_differently_has_one_key() {
        let key = |s: &str| duplicate_key(&url::Url::parse(s).unwrap());
        let base = key("https://www.nhs.uk/page");
        for same in [
            "https://WWW.NHS.uk/page/?utm_source=x#top",
            "http://www.nhs.uk/page",
            "https://www.nhs.uk./page",
            "https://www.nhs.uk/%70age",
            "https://www.nhs.uk/page?UTM_SOURCE=news&Utm_Medium=mail",
        ] {
            assert_eq!(key(same), base, "{same}");
        }
        assert_ne!(key("https://www.nhs.uk/page?id=2"), base);
        assert_ne!(key("https://www.nhs.uk/Page"), base);
        // A reserved character stays escaped: `%2F` is not a path separator.
        assert_ne!(
            key("https://www.nhs.uk/a%2Fb"),
            key("https://www.nhs.uk/a/b")
        );
        assert_eq!(
            key("https://www.nhs.uk/a%2fb"),
            key("https://www.nhs.uk/a%2Fb")
        );
    }
}
