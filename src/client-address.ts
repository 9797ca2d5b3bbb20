/**
 * The client's network address, for the failed-key budget: the socket peer, or behind trusted
 * reverse proxies the address the outermost trusted proxy saw. Pure: no runtime APIs.
 */

/** An address range: the first `bits` bits of `bytes` (4 bytes for IPv4, 16 for IPv6). */
export interface AddressRange {
  bytes: Uint8Array;
  bits: number;
}

/** Which proxies in front of the server are trusted to report the client's address. */
export type ProxyTrust =
  | { mode: "direct" }
  /** This many proxies, each appending the address it saw to X-Forwarded-For. */
  | { mode: "hops"; hops: number }
  /** Proxies known by address: every trusted hop from the right is skipped. */
  | { mode: "addresses"; ranges: AddressRange[] };

function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^[0-9]{1,3}$/.test(parts[i])) return null;
    const n = Number(parts[i]);
    if (n > 255) return null;
    bytes[i] = n;
  }
  return bytes;
}

function parseIpv6(text: string): Uint8Array | null {
  let rest = text;
  const bytes = new Uint8Array(16);
  // A trailing dotted quad (::ffff:192.0.2.1) fills the last four bytes.
  let tail: Uint8Array | null = null;
  const lastColon = rest.lastIndexOf(":");
  if (rest.includes(".", lastColon)) {
    tail = parseIpv4(rest.slice(lastColon + 1));
    if (!tail) return null;
    rest = rest.slice(0, lastColon + 1) + "0:0";
  }
  const halves = rest.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0]);
  const back = halves.length === 2 ? groups(halves[1]) : [];
  const total = head.length + back.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return null;
  const all = [...head, ...Array(8 - total).fill("0"), ...back];
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(all[i])) return null;
    const n = parseInt(all[i], 16);
    bytes[i * 2] = n >> 8;
    bytes[i * 2 + 1] = n & 0xff;
  }
  if (tail) bytes.set(tail, 12);
  return bytes;
}

const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/**
 * The bytes of an address as proxies and runtimes write it: IPv4, IPv6 (zone ids dropped), in
 * brackets or with a port; an IPv4-mapped IPv6 address counts as its IPv4 address. Null when
 * the text is not an address.
 */
export function parseAddress(input: string): Uint8Array | null {
  let text = input.trim();
  if (text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1);
  const withPort = text.match(/^\[([^\]]+)\]:([0-9]{1,5})$|^([0-9.]+):([0-9]{1,5})$/);
  if (withPort) {
    if (Number(withPort[2] ?? withPort[4]) > 65535) return null;
    text = withPort[1] ?? withPort[3];
  } else if (/^\[[^\]]+\]$/.test(text)) text = text.slice(1, -1);
  text = text.replace(/%[^%]*$/, "");
  const bytes = text.includes(":") ? parseIpv6(text) : parseIpv4(text);
  if (bytes?.length === 16 && MAPPED_PREFIX.every((b, i) => bytes[i] === b)) {
    return bytes.slice(12);
  }
  return bytes;
}

/** An address in its canonical text: dotted IPv4, or eight lower-case IPv6 groups. */
export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return groups.join(":");
}

/** Parses `192.0.2.0/24`, `2001:db8::/32` or a single address; null when invalid. */
export function parseRange(text: string): AddressRange | null {
  const [address, prefix, extra] = text.trim().split("/");
  if (extra !== undefined) return null;
  const bytes = parseAddress(address);
  if (!bytes) return null;
  if (prefix === undefined) return { bytes, bits: bytes.length * 8 };
  const written = address.includes(":") ? 128 : 32;
  if (!/^[0-9]{1,3}$/.test(prefix) || Number(prefix) > written) return null;
  // An IPv4-mapped range (::ffff:10.0.0.0/104) becomes its IPv4 range.
  const bits = Number(prefix) - (written - bytes.length * 8);
  return bits < 0 ? null : { bytes, bits };
}

/** True when `bytes` lies in `range`. */
export function inRange(bytes: Uint8Array, range: AddressRange): boolean {
  if (bytes.length !== range.bytes.length) return false;
  const whole = range.bits >> 3;
  for (let i = 0; i < whole; i++) if (bytes[i] !== range.bytes[i]) return false;
  const rest = range.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (bytes[whole] & mask) === (range.bytes[whole] & mask);
}

/** Canonical text of an address, or the input itself when it is not one (e.g. "unknown"). */
function canonical(text: string): string {
  const bytes = parseAddress(text);
  return bytes ? formatAddress(bytes) : text;
}

/**
 * The client's address. Direct: the socket peer. Behind `hops` proxies that each append what
 * they saw (nginx's `$proxy_add_x_forwarded_for`), the entries a client wrote come first, so
 * the client is the `hops`-th entry from the right: never one the client chose. Behind proxies
 * known by address, the right-most address that is not one of them.
 */
export function resolveClientAddress(
  forwardedFor: string | undefined | null,
  peer: string | undefined,
  trust: ProxyTrust,
): string | undefined {
  if (trust.mode === "direct") return peer === undefined ? undefined : canonical(peer);
  const entries = (forwardedFor ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (trust.mode === "hops") {
    if (entries.length === 0) return peer === undefined ? undefined : canonical(peer);
    // Fewer entries than hops: the request skipped a proxy; the left-most is all there is.
    const chosen = parseAddress(entries[Math.max(0, entries.length - trust.hops)]);
    // A trusted proxy wrote this entry; if it is not an address, the peer is the safer key.
    if (chosen) return formatAddress(chosen);
    return peer === undefined ? undefined : canonical(peer);
  }
  const chain = peer === undefined ? entries : [...entries, peer];
  let last: string | undefined;
  for (let i = chain.length - 1; i >= 0; i--) {
    const bytes = parseAddress(chain[i]);
    if (!bytes) return last ?? chain[i];
    const text = formatAddress(bytes);
    if (!trust.ranges.some((r) => inRange(bytes, r))) return text;
    last = text;
  }
  return last;
}

/**
 * The failed-key budget an address draws on. An IPv6 client usually holds a whole /64 and can
 * pick any address in it, so IPv6 addresses share their /64's budget.
 */
export function budgetKey(address: string): string {
  const bytes = parseAddress(address);
  if (!bytes || bytes.length === 4) return address;
  const network = new Uint8Array(16);
  network.set(bytes.subarray(0, 8));
  return `${formatAddress(network)}/64`;
}
