//! The client's IP address for audit events.
//!
//! `X-Forwarded-For` is believed only when the TCP peer is a configured trusted proxy, and then
//! read from the right: each proxy appends the address it received from, so the rightmost entry
//! that is not itself a trusted proxy is the client. (Taking the leftmost entry, as the original
//! did even behind a proxy, would let a client choose its own address by sending the header.)

use ipnet::IpNet;
use std::net::IpAddr;

pub fn client_ip(peer: IpAddr, forwarded_for: &[&str], trusted_proxies: &[IpNet]) -> IpAddr {
    let is_trusted = |address: &IpAddr| trusted_proxies.iter().any(|range| range.contains(address));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = forwarded_for.iter().flat_map(|header| header.split(',')).map(str::trim);
    let mut client = peer;
    for hop in hops.collect::<Vec<_>>().into_iter().rev() {
        let Ok(address) = hop.parse::<IpAddr>() else {
            // Garbage in the chain: stop at the last address we could vouch for.
            break;
        };
        client = address;
        if !is_trusted(&address) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn proxies() -> Vec<IpNet> {
        vec!["10.0.0.0/8".parse().unwrap()]
    }

    #[test]
    fn untrusted_peer_is_the_client_whatever_it_claims() {
        assert_eq!(
            client_ip(ip("203.0.113.9"), &["1.2.3.4"], &proxies()),
            ip("203.0.113.9")
        );
        assert_eq!(client_ip(ip("10.0.0.1"), &["1.2.3.4"], &[]), ip("10.0.0.1"));
    }

    #[test]
    fn trusted_proxy_forwards_the_client() {
        assert_eq!(
            client_ip(ip("10.0.0.1"), &["198.51.100.7"], &proxies()),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn spoofed_leftmost_entries_are_ignored() {
        // The client sent "X-Forwarded-For: 1.2.3.4"; the proxy appended the real address.
        assert_eq!(
            client_ip(ip("10.0.0.1"), &["1.2.3.4, 198.51.100.7"], &proxies()),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn chains_of_trusted_proxies_are_walked() {
        let forwarded = ["198.51.100.7, 10.0.0.3", "10.0.0.2"];
        assert_eq!(client_ip(ip("10.0.0.1"), &forwarded, &proxies()), ip("198.51.100.7"));
    }

    #[test]
    fn missing_or_garbage_header_falls_back_to_the_last_trusted_hop() {
        assert_eq!(client_ip(ip("10.0.0.1"), &[], &proxies()), ip("10.0.0.1"));
        assert_eq!(client_ip(ip("10.0.0.1"), &["not-an-ip"], &proxies()), ip("10.0.0.1"));
        assert_eq!(
            client_ip(ip("10.0.0.1"), &["unknown, 10.0.0.5"], &proxies()),
            ip("10.0.0.5")
        );
    }

    #[test]
    fn ipv6_works() {
        let proxies: Vec<IpNet> = vec!["::1/128".parse().unwrap()];
        assert_eq!(client_ip(ip("::1"), &["2001:db8::5"], &proxies), ip("2001:db8::5"));
    }
}
