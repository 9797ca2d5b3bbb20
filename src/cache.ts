/**
 * A small in-process cache of serialized responses, each stamped with the data version it was
 * built from (the newest event id). An entry is served only while the database still reports
 * that same version, so it is never older than a completed write, on this instance or any
 * other sharing the database. Bounded by total bytes, least recently used out first.
 */
/** A serialized response body: text, or bytes encoded once for large bodies. */
export type CachedBody = string | Uint8Array<ArrayBuffer>;

/** Memory an entry holds: strings take up to two bytes per character. */
function sizeOf(body: CachedBody): number {
  return typeof body === "string" ? body.length * 2 : body.byteLength;
}

export class ResponseCache {
  private readonly entries = new Map<
    string,
    { version: number; body: CachedBody; etag: string }
  >();
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    /**
     * Also bounded by count: tens of thousands of small entries (every single part of a large
     * team) measurably slowed every request, lists and stats included, through the heap.
     */
    private readonly maxEntries = 4096,
  ) {}

  /** The body cached for `key` at exactly `version`, if any. */
  get(key: string, version: number): { body: CachedBody; etag: string } | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.version !== version) {
      this.delete(key);
      return undefined;
    }
    // Refresh its place in the LRU order.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  set(key: string, version: number, body: CachedBody, etag: string): void {
    const size = sizeOf(body);
    // One entry may take at most a quarter of the budget; with a budget of 0 nothing is kept.
    if (size > this.maxBytes / 4) return;
    this.delete(key);
    this.entries.set(key, { version, body, etag });
    this.bytes += size;
    for (const [oldest] of this.entries) {
      if (this.bytes <= this.maxBytes && this.entries.size <= this.maxEntries) break;
      this.delete(oldest);
    }
  }

  private delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.bytes -= sizeOf(entry.body);
    this.entries.delete(key);
  }
}
