/**
 * A small in-process cache of serialized responses, each stamped with the data version it was
 * built from (the newest event id). An entry is served only while the database still reports
 * that same version, so it is never older than a completed write, on this instance or any
 * other sharing the database. Bounded by total bytes, least recently used out first.
 */
export class ResponseCache {
  private readonly entries = new Map<
    string,
    { version: number; body: Uint8Array<ArrayBuffer>; etag: string }
  >();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** The body cached for `key` at exactly `version`, if any. */
  get(key: string, version: number): { body: Uint8Array<ArrayBuffer>; etag: string } | undefined {
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

  set(key: string, version: number, body: Uint8Array<ArrayBuffer>, etag: string): void {
    const size = body.byteLength;
    // One entry may take at most a quarter of the budget; with a budget of 0 nothing is kept.
    if (size > this.maxBytes / 4) return;
    this.delete(key);
    this.entries.set(key, { version, body, etag });
    this.bytes += size;
    for (const [oldest] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.delete(oldest);
    }
  }

  private delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.bytes -= entry.body.byteLength;
    this.entries.delete(key);
  }
}
