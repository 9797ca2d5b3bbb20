/** Range, If-None-Match and If-Range, table-driven against RFC 9110. */
import assert from "node:assert/strict";
import {
  contentRange,
  ifNoneMatchMatches,
  ifRangeAllows,
  parseRange,
  type RangeRequest,
} from "../../src/files/http-range.ts";

const none: RangeRequest = { kind: "none" };
const unsatisfiable: RangeRequest = { kind: "unsatisfiable" };
const range = (offset: number, length: number): RangeRequest => ({ kind: "range", offset, length });

const RANGES: [header: string | undefined, size: number, expected: RangeRequest][] = [
  [undefined, 1000, none],
  ["", 1000, none],
  ["bytes=0-499", 1000, range(0, 500)],
  ["bytes=500-999", 1000, range(500, 500)],
  ["bytes=500-", 1000, range(500, 500)],
  ["bytes=0-0", 1000, range(0, 1)],
  ["bytes=999-", 1000, range(999, 1)],
  ["bytes=999-999", 1000, range(999, 1)],
  ["bytes=0-99999", 1000, range(0, 1000)], // the end is clamped to the size
  ["bytes=-200", 1000, range(800, 200)],
  ["bytes=-1", 1000, range(999, 1)],
  ["bytes=-2000", 1000, range(0, 1000)], // a suffix longer than the file is the whole file
  ["BYTES=0-9", 1000, range(0, 10)], // the unit is case-insensitive
  [" bytes = 10-19 ", 1000, range(10, 10)],
  ["bytes=1000-", 1000, unsatisfiable],
  ["bytes=1000-2000", 1000, unsatisfiable],
  ["bytes=99999999999999999999-", 1000, unsatisfiable],
  ["bytes=-0", 1000, unsatisfiable],
  ["bytes=0-", 0, unsatisfiable],
  ["bytes=-5", 0, unsatisfiable],
  [undefined, 0, none],
  ["bytes=5-1", 1000, none], // last before first: invalid, so ignored
  ["bytes=0-1,5-9", 1000, none], // several ranges: the whole file instead
  ["bytes=0-1, -5", 1000, none],
  ["bytes=-", 1000, none],
  ["bytes=a-b", 1000, none],
  ["bytes=1.5-2", 1000, none],
  ["bytes=0-5-", 1000, none],
  ["bytes 0-5", 1000, none],
  ["items=0-5", 1000, none],
  ["bytes=+1-5", 1000, none],
  ["bytes=0x10-", 1000, none],
];

Deno.test("parseRange: single ranges, suffixes, clamping, and what is ignored", () => {
  for (const [header, size, expected] of RANGES) {
    assert.deepEqual(parseRange(header, size), expected, `${JSON.stringify(header)} of ${size}`);
  }
});

Deno.test("parseRange: every satisfiable answer lies inside the file", () => {
  for (const [header, size] of RANGES) {
    const r = parseRange(header, size);
    if (r.kind !== "range") continue;
    assert.ok(r.offset >= 0 && r.length >= 1 && r.offset + r.length <= size, String(header));
  }
});

Deno.test("contentRange: 206 and 416 forms", () => {
  assert.equal(contentRange(1000, { offset: 0, length: 500 }), "bytes 0-499/1000");
  assert.equal(contentRange(1000, { offset: 999, length: 1 }), "bytes 999-999/1000");
  assert.equal(contentRange(1000), "bytes */1000");
});

const ETAG = '"9f86d081884c7d65"';

const NONE_MATCH: [header: string | undefined, expected: boolean][] = [
  [undefined, false],
  ["", false],
  [ETAG, true],
  [`W/${ETAG}`, true], // weak comparison
  ["*", true],
  [" * ", true],
  [`"other", ${ETAG}`, true],
  [`"other" ,W/${ETAG} `, true],
  [`, ,${ETAG},`, true], // empty list elements are allowed
  [`"a,b", ${ETAG}`, true], // a comma inside a tag is part of the tag
  ['"9f86d081884c7d6"', false],
  ['"9f86d081884c7d65x"', false],
  ["9f86d081884c7d65", false], // unquoted: malformed
  [`"other", junk, ${ETAG}`, false], // one malformed member spoils the list
  [`${ETAG}x`, false],
  ['"other"', false],
  ['w/"9f86d081884c7d65"', false], // the weak prefix is case-sensitive
];

Deno.test("ifNoneMatchMatches: *, lists and weak tags", () => {
  for (const [header, expected] of NONE_MATCH) {
    assert.equal(ifNoneMatchMatches(header, ETAG), expected, String(header));
  }
});

Deno.test("ifNoneMatchMatches: the server's tag may be given bare or weak", () => {
  assert.equal(ifNoneMatchMatches(ETAG, "9f86d081884c7d65"), true);
  assert.equal(ifNoneMatchMatches(ETAG, `W/${ETAG}`), true);
  assert.equal(ifNoneMatchMatches('"x"', "9f86d081884c7d65"), false);
});

Deno.test("ifRangeAllows: a strong matching tag or the exact date, else the whole file", () => {
  const modified = Date.parse("2026-01-15T10:30:00.000Z") + 456; // sub-second part is dropped
  const cases: [header: string | undefined, expected: boolean][] = [
    [undefined, true],
    ["", true],
    [ETAG, true],
    [`W/${ETAG}`, false], // If-Range needs a strong comparison
    ['"other"', false],
    ["Thu, 15 Jan 2026 10:30:00 GMT", true],
    ["Thu, 15 Jan 2026 10:30:01 GMT", false],
    ["Wed, 14 Jan 2026 10:30:00 GMT", false],
    ["not a date", false],
  ];
  for (const [header, expected] of cases) {
    assert.equal(ifRangeAllows(header, ETAG, modified), expected, String(header));
  }
  assert.equal(ifRangeAllows("Thu, 15 Jan 2026 10:30:00 GMT", ETAG), false, "no date known");
  assert.equal(ifRangeAllows(ETAG, `W/${ETAG}`), false, "a weak server tag never allows");
});
