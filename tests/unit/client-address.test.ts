/** The client address behind proxies, and the failed-key budget it draws on. */
import assert from "node:assert/strict";
import {
  budgetKey,
  formatAddress,
  inRange,
  parseAddress,
  parseRange,
  type ProxyTrust,
  resolveClientAddress,
} from "../../src/client-address.ts";

const text = (s: string) => {
  const bytes = parseAddress(s);
  return bytes ? formatAddress(bytes) : null;
};

Deno.test("addresses: IPv4, IPv6, ports, brackets, zones, IPv4-mapped", () => {
  assert.equal(text("203.0.113.7"), "203.0.113.7");
  assert.equal(text(" 203.0.113.7:54321 "), "203.0.113.7");
  assert.equal(text("2001:db8::1"), "2001:db8:0:0:0:0:0:1");
  assert.equal(text("[2001:db8::1]:443"), "2001:db8:0:0:0:0:0:1");
  assert.equal(text("fe80::1%eth0"), "fe80:0:0:0:0:0:0:1");
  assert.equal(text("::1"), "0:0:0:0:0:0:0:1");
  assert.equal(text("::"), "0:0:0:0:0:0:0:0");
  assert.equal(text("1:2:3:4:5:6:7:8"), "1:2:3:4:5:6:7:8");
  // Node reports IPv4 clients of a dual-stack socket like this: the same client as 127.0.0.1.
  assert.equal(text("::ffff:127.0.0.1"), "127.0.0.1");
  assert.equal(text("::ffff:7f00:1"), "127.0.0.1");
  assert.equal(text('"198.51.100.4"'), "198.51.100.4");
  for (
    const bad of [
      "",
      "unknown",
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "1.2.3.-4",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      "12345::1",
      "g::1",
      "1.2.3.4:99999",
      "::ffff:1.2.3.999",
    ]
  ) {
    assert.equal(parseAddress(bad), null, bad);
  }
});

Deno.test("address ranges: CIDR for IPv4 and IPv6, single addresses", () => {
  const r = (s: string) => {
    const range = parseRange(s);
    assert.ok(range, s);
    return range;
  };
  const has = (range: string, address: string) => inRange(parseAddress(address)!, r(range));
  assert.ok(has("10.0.0.0/8", "10.255.1.2"));
  assert.ok(!has("10.0.0.0/8", "11.0.0.1"));
  assert.ok(has("172.16.0.0/12", "172.31.255.255"));
  assert.ok(!has("172.16.0.0/12", "172.32.0.0"));
  assert.ok(has("192.0.2.7", "192.0.2.7"));
  assert.ok(!has("192.0.2.7", "192.0.2.8"));
  assert.ok(has("0.0.0.0/0", "8.8.8.8"));
  assert.ok(has("2001:db8::/32", "2001:db8:ffff::1"));
  assert.ok(!has("2001:db8::/32", "2001:db9::1"));
  assert.ok(!has("2001:db8::/32", "10.0.0.1"), "families never match each other");
  assert.ok(has("::ffff:10.0.0.0/104", "10.1.2.3"), "an IPv4-mapped range is its IPv4 range");
  for (const bad of ["10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/8/1", "2001:db8::/129", "x/8"]) {
    assert.equal(parseRange(bad), null, bad);
  }
});

const ONE_HOP: ProxyTrust = { mode: "hops", hops: 1 };
const TWO_HOPS: ProxyTrust = { mode: "hops", hops: 2 };

Deno.test("client address: direct, the socket peer whatever the header says", () => {
  const direct: ProxyTrust = { mode: "direct" };
  assert.equal(resolveClientAddress("1.2.3.4", "203.0.113.9", direct), "203.0.113.9");
  assert.equal(resolveClientAddress(undefined, "::ffff:203.0.113.9", direct), "203.0.113.9");
  assert.equal(resolveClientAddress("1.2.3.4", undefined, direct), undefined);
});

Deno.test("client address: behind counted hops, the entry the outermost proxy wrote", () => {
  // nginx appends the address it saw to what the client sent: the client's own entries come
  // first and are never taken.
  assert.equal(resolveClientAddress("203.0.113.9", "10.0.0.2", ONE_HOP), "203.0.113.9");
  assert.equal(
    resolveClientAddress("1.2.3.4, 5.6.7.8, 203.0.113.9", "10.0.0.2", ONE_HOP),
    "203.0.113.9",
  );
  // Two proxies: CDN → nginx → app. nginx appended the CDN's address.
  assert.equal(
    resolveClientAddress("1.2.3.4, 203.0.113.9, 198.51.100.1", "10.0.0.2", TWO_HOPS),
    "203.0.113.9",
  );
  // Fewer entries than hops: the left-most is all there is.
  assert.equal(resolveClientAddress("203.0.113.9", "10.0.0.2", TWO_HOPS), "203.0.113.9");
  // No header: the peer (a request that did not come through the proxy).
  assert.equal(resolveClientAddress(undefined, "10.0.0.2", ONE_HOP), "10.0.0.2");
  assert.equal(resolveClientAddress(" , ", "10.0.0.2", ONE_HOP), "10.0.0.2");
  // Garbage where the proxy's entry should be: the peer, never the garbage.
  assert.equal(resolveClientAddress("1.2.3.4, unknown", "10.0.0.2", ONE_HOP), "10.0.0.2");
  assert.equal(
    resolveClientAddress("1.2.3.4, [2001:db8::7]:5000", "10.0.0.2", ONE_HOP),
    "2001:db8:0:0:0:0:0:7",
  );
});

Deno.test("client address: behind proxies known by address, the first untrusted from the right", () => {
  const trust: ProxyTrust = {
    mode: "addresses",
    ranges: [parseRange("10.0.0.0/8")!, parseRange("2001:db8:aa::/48")!],
  };
  assert.equal(
    resolveClientAddress("1.2.3.4, 203.0.113.9, 10.0.0.3", "10.0.0.2", trust),
    "203.0.113.9",
  );
  assert.equal(resolveClientAddress("1.2.3.4", "203.0.113.50", trust), "203.0.113.50");
  assert.equal(
    resolveClientAddress("203.0.113.9", "2001:db8:aa::5", trust),
    "203.0.113.9",
    "an IPv6 proxy",
  );
  // Every hop trusted: the left-most.
  assert.equal(resolveClientAddress("10.1.1.1, 10.0.0.3", "10.0.0.2", trust), "10.1.1.1");
  // A trusted hop that wrote garbage: the last trusted address, never the client's entries.
  assert.equal(resolveClientAddress("1.2.3.4, junk", "10.0.0.2", trust), "10.0.0.2");
  // No peer reported (in-process): the header alone.
  assert.equal(resolveClientAddress("1.2.3.4, 203.0.113.9", undefined, trust), "203.0.113.9");
});

Deno.test("failed-key budgets: per IPv4 address, per IPv6 /64", () => {
  assert.equal(budgetKey("203.0.113.9"), "203.0.113.9");
  assert.equal(budgetKey("unknown"), "unknown");
  assert.equal(budgetKey("2001:db8:1:2:aaaa::1"), budgetKey("2001:db8:1:2:ffff:1:2:3"));
  assert.notEqual(budgetKey("2001:db8:1:2::1"), budgetKey("2001:db8:1:3::1"));
  assert.equal(budgetKey("2001:db8:1:2::1"), "2001:db8:1:2:0:0:0:0/64");
});
