import * as net from 'node:net';

/**
 * Loopback addresses: 127.0.0.0/8 (RFC 1122 §3.2.1.3), ::1 in any spelling (RFC 4291 §2.5.3) and
 * IPv4-mapped 127/8 (::ffff:127.x.y.z, RFC 4291 §2.5.5.2). BlockList compares parsed addresses, so
 * `0:0:0:0:0:0:0:1` and `::1` are the same host.
 */
const LOOPBACK = new net.BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

/** True for `localhost` and loopback IP addresses (brackets around an IPv6 literal allowed). */
export function isLoopbackHost(host: string): boolean {
  const h = (/^\[(.*)\]$/.exec(host)?.[1] ?? host).toLowerCase();
  if (h === 'localhost') return true;
  if (net.isIPv4(h)) return LOOPBACK.check(h, 'ipv4');
  if (net.isIPv6(h)) return LOOPBACK.check(h, 'ipv6');
  return false;
}
