/**
 * A blob store in an S3-compatible bucket (AWS S3, Cloudflare R2's S3 API, MinIO, s3rver),
 * signed with AWS Signature V4 by aws4fetch. Only `fetch` and WebCrypto: runs on Deno, Node and
 * Workers. Puts send the SHA-256 of the body as the signed payload hash, so the store refuses
 * bytes that changed on the way. Every failure is a StorageError naming the bucket and the
 * status, never a credential.
 */
import { AwsClient } from "aws4fetch";
import {
  checkKey,
  checkPrefix,
  checkRange,
  clampRange,
  concatChunks,
  emptyStream,
  storePrefix,
} from "./keys.ts";
import {
  type BlobBody,
  type BlobInfo,
  type BlobStore,
  type ByteRange,
  type PutOptions,
  StorageError,
} from "./types.ts";

export interface S3StoreOptions {
  bucket: string;
  /** Folder inside the bucket that holds this store's keys. */
  prefix?: string;
  /** Where the S3 API answers, e.g. `https://<account>.r2.cloudflarestorage.com`. */
  endpoint: string;
  /** Signing region; `auto` for R2. */
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** `endpoint/bucket/key` instead of `bucket.endpoint/key` (MinIO, s3rver). */
  forcePathStyle?: boolean;
  /** The fetch to send requests with (default: the global one). */
  fetch?: (request: Request) => Promise<Response>;
  /**
   * Time allowed for the answer's headers to arrive, per attempt; default 30 s. A put gets a
   * second more per MiB of body on top (it is uploading meanwhile). Reading a body is not timed.
   */
  timeoutMs?: number;
  /** Further attempts after a network error, a timeout, 429 or 5xx; default 2. */
  retries?: number;
  /** Keys asked for per ListObjectsV2 page, 1–1000; default 1000. */
  listPageSize?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const MiB = 1024 * 1024;
const DEFAULT_RETRIES = 2;
const RETRY_BASE_MS = 100;
/** Longest piece of an error answer's message repeated in a StorageError. */
const MAX_DETAIL = 300;

/** Percent-encodes as S3 signs: every byte but unreserved characters (RFC 3986). */
function encodeS3(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

const encodePath = (key: string) => key.split("/").map(encodeS3).join("/");

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Text of an XML element's content with its entities decoded. */
export function decodeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, entity: string) => {
    if (entity[0] !== "#") return ENTITIES[entity];
    const code = entity[1] === "x" ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
    return String.fromCodePoint(code);
  });
}

function element(xml: string, name: string): string | undefined {
  const match = xml.match(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`));
  return match ? decodeXml(match[1]) : undefined;
}

/** One page of a ListObjectsV2 answer. */
export function parseListPage(xml: string): {
  objects: { key: string; size: number; lastModified: number }[];
  truncated: boolean;
  nextToken: string | undefined;
} {
  const objects = [];
  for (const match of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
    const key = element(match[1], "Key");
    const size = Number(element(match[1], "Size"));
    const lastModified = Date.parse(element(match[1], "LastModified") ?? "");
    if (key === undefined || !Number.isFinite(size)) continue;
    objects.push({ key, size, lastModified: Number.isFinite(lastModified) ? lastModified : 0 });
  }
  return {
    objects,
    truncated: element(xml, "IsTruncated") === "true",
    nextToken: element(xml, "NextContinuationToken"),
  };
}

function hex(buffer: ArrayBuffer): string {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Passes on `take` bytes after skipping `skip`, for a server that ignored the Range header. */
function sliceStream(
  source: ReadableStream<Uint8Array>,
  skip: number,
  take: number,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (true) {
        if (take === 0) {
          await reader.cancel();
          controller.close();
          return;
        }
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          return;
        }
        let chunk = value;
        if (skip >= chunk.byteLength) {
          skip -= chunk.byteLength;
          continue;
        }
        chunk = chunk.subarray(skip, skip + take);
        skip = 0;
        take -= chunk.byteLength;
        controller.enqueue(chunk);
        return;
      }
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
}

/** A store over one bucket (and optional prefix) of an S3-compatible service. */
export function createS3Store(options: S3StoreOptions): BlobStore {
  const { bucket } = options;
  const prefix = storePrefix(options.prefix);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const retries = options.retries ?? DEFAULT_RETRIES;
  const pageSize = Math.max(1, Math.min(1000, options.listPageSize ?? 1000));
  const send = options.fetch ?? ((request: Request) => fetch(request));
  const client = new AwsClient({
    accessKeyId: options.accessKeyId,
    secretAccessKey: options.secretAccessKey,
    service: "s3",
    region: options.region,
    retries: 0,
  });

  let endpoint: URL;
  try {
    endpoint = new URL(options.endpoint);
  } catch {
    throw new StorageError(`S3 bucket "${bucket}": the endpoint is not a URL`);
  }
  // Never repeat user:password from the endpoint in a message.
  const origin = endpoint.origin;
  const basePath = endpoint.pathname.replace(/\/+$/, "");
  // Path style also where a bucket host cannot work: a dotted bucket name does not fit a TLS
  // wildcard certificate (AWS does the same), and an IP address has no subdomains.
  const ipHost = /^\d+\.\d+\.\d+\.\d+$|^\[/.test(endpoint.hostname);
  const bucketUrl = options.forcePathStyle || bucket.includes(".") || ipHost
    ? `${origin}${basePath}/${encodeS3(bucket)}`
    : `${endpoint.protocol}//${bucket}.${endpoint.host}${basePath}`;
  try {
    new URL(bucketUrl);
  } catch {
    throw new StorageError(`S3 bucket ${JSON.stringify(bucket)}: not a usable bucket name`);
  }
  const objectUrl = (key: string) => `${bucketUrl}/${encodePath(prefix + key)}`;
  const where = `S3 bucket "${bucket}"`;

  const describe = (action: string, key?: string) =>
    `${where}: ${action}${key === undefined ? "" : ` ${JSON.stringify(key)}`}`;

  /** Sends a signed request, retrying what may pass on a second try; a Response for any status. */
  const request = async (
    what: string,
    url: string,
    init: { method: string; headers?: Record<string, string>; body?: Uint8Array },
  ): Promise<Response> => {
    for (let attempt = 0;; attempt++) {
      const controller = new AbortController();
      const allowed = timeoutMs + Math.ceil((init.body?.byteLength ?? 0) / MiB) * 1000;
      const timer = setTimeout(() => controller.abort(), allowed);
      let response: Response | undefined;
      let failure: unknown;
      try {
        const signed = await client.sign(url, {
          method: init.method,
          headers: init.headers,
          body: init.body as BodyInit | undefined,
          signal: controller.signal,
        });
        response = await send(signed);
      } catch (error) {
        failure = error;
      } finally {
        clearTimeout(timer);
      }
      const retryable = !response || response.status >= 500 || response.status === 429;
      if (!retryable) return response!;
      if (attempt < retries) {
        await response?.body?.cancel().catch(() => {});
        const delay = RETRY_BASE_MS * 2 ** attempt * (0.5 + Math.random() / 2);
        await new Promise((resolve) => setTimeout(resolve, delay));
        continue;
      }
      if (response) return response;
      const tries = attempt + 1 === 1 ? "" : ` (${attempt + 1} attempts)`;
      if (controller.signal.aborted) {
        throw new StorageError(
          `${what} failed: no answer from ${origin} within ${allowed} ms${tries}`,
          { cause: failure },
        );
      }
      const reason = failure instanceof Error ? failure.message : String(failure);
      throw new StorageError(`${what} failed: cannot reach ${origin}${tries}: ${reason}`, {
        cause: failure,
      });
    }
  };

  const refusal = (what: string, status: number, text: string): StorageError => {
    const code = element(text, "Code");
    let detail = element(text, "Message") ?? "";
    if (detail.length > MAX_DETAIL) detail = `${detail.slice(0, MAX_DETAIL)}…`;
    const hint = status === 403 ? " (check the access key and secret)" : "";
    const named = code ? `HTTP ${status} ${code}` : `HTTP ${status}`;
    return new StorageError(`${what} failed: ${named}${detail ? `: ${detail}` : ""}${hint}`);
  };

  /** The StorageError for an answer that is not a success, from its status and XML error. */
  const refused = async (what: string, response: Response): Promise<StorageError> =>
    refusal(what, response.status, await response.text().catch(() => ""));

  /** Null for a missing key; a StorageError for a missing bucket (also a 404). */
  const notFound = async (what: string, response: Response): Promise<null> => {
    const text = await response.text().catch(() => "");
    const code = element(text, "Code");
    if (code && code !== "NoSuchKey") throw refusal(what, response.status, text);
    return null;
  };

  const infoFrom = (key: string, response: Response, size: number): BlobInfo => {
    const modified = Date.parse(response.headers.get("Last-Modified") ?? "");
    return { key, size, uploadedAt: Number.isFinite(modified) ? modified : 0 };
  };

  const lengthOf = (what: string, response: Response): number => {
    const size = Number(response.headers.get("Content-Length") ?? NaN);
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new StorageError(`${what} failed: the answer has no Content-Length`);
    }
    return size;
  };

  const head = async (key: string): Promise<BlobInfo | null> => {
    checkKey(key);
    const what = describe("head", key);
    const response = await request(what, objectUrl(key), { method: "HEAD" });
    if (response.status === 404) return await notFound(what, response);
    if (!response.ok) throw await refused(what, response);
    await response.body?.cancel().catch(() => {});
    return infoFrom(key, response, lengthOf(what, response));
  };

  const emptyRange = (info: BlobInfo, range: ByteRange): BlobBody => ({
    ...info,
    body: emptyStream(),
    range: { offset: Math.min(range.offset, info.size), length: 0 },
  });

  return {
    description: `s3 ${bucket}${prefix ? `/${prefix.slice(0, -1)}` : ""} at ${origin}`,

    async put(key: string, body: Uint8Array | Uint8Array[], put?: PutOptions): Promise<void> {
      checkKey(key);
      const what = describe("put", key);
      const bytes = concatChunks(body);
      const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
      const response = await request(what, objectUrl(key), {
        method: "PUT",
        headers: {
          "Content-Type": put?.contentType ?? "application/octet-stream",
          "X-Amz-Content-Sha256": hex(digest),
        },
        body: bytes,
      });
      if (!response.ok) throw await refused(what, response);
      await response.body?.cancel().catch(() => {});
    },

    async get(key: string, range?: ByteRange): Promise<BlobBody | null> {
      checkKey(key);
      const what = describe("get", key);
      const headers: Record<string, string> = {};
      if (range) {
        checkRange(range);
        // "bytes=5-4" is no range at all to S3 (it would send the whole object).
        if (range.length === 0) {
          const info = await head(key);
          return info && emptyRange(info, range);
        }
        const last = range.length === undefined ? "" : String(range.offset + range.length - 1);
        headers.Range = `bytes=${range.offset}-${last}`;
      }
      const response = await request(what, objectUrl(key), { method: "GET", headers });
      if (response.status === 404) return await notFound(what, response);
      if (range && response.status === 416) {
        // Offset at or past the end (or an empty object): an empty range, like the other stores.
        await response.body?.cancel().catch(() => {});
        const info = await head(key);
        return info && emptyRange(info, range);
      }
      if (response.status !== 200 && !(response.status === 206 && range)) {
        throw await refused(what, response);
      }
      const body = response.body ?? emptyStream();
      if (!range) return { ...infoFrom(key, response, lengthOf(what, response)), body };
      // What the answer holds: all of it (200, the server ignored Range) or the bytes its
      // Content-Range names, which some servers make wider than asked. The asked range is cut out.
      let sent: { first: number; last: number; size: number };
      if (response.status === 200) {
        const size = lengthOf(what, response);
        sent = { first: 0, last: size - 1, size };
      } else {
        const match = response.headers.get("Content-Range")?.match(/^bytes (\d+)-(\d+)\/(\d+)$/);
        if (!match) {
          await body.cancel().catch(() => {});
          throw new StorageError(`${what} failed: unreadable Content-Range in a 206 answer`);
        }
        sent = { first: Number(match[1]), last: Number(match[2]), size: Number(match[3]) };
      }
      const info = infoFrom(key, response, sent.size);
      const span = clampRange(range, sent.size);
      if (span.length === 0) {
        await body.cancel().catch(() => {});
        return { ...info, body: emptyStream(), range: span };
      }
      const end = span.offset + span.length - 1;
      if (sent.first > span.offset || sent.last < end) {
        await body.cancel().catch(() => {});
        throw new StorageError(
          `${what} failed: asked for bytes ${span.offset}-${end}, the answer holds ` +
            `${sent.first}-${sent.last}`,
        );
      }
      const exact = sent.first === span.offset && sent.last === end;
      return {
        ...info,
        body: exact ? body : sliceStream(body, span.offset - sent.first, span.length),
        range: span,
      };
    },

    head,

    async delete(key: string): Promise<void> {
      checkKey(key);
      const what = describe("delete", key);
      const response = await request(what, objectUrl(key), { method: "DELETE" });
      if (response.status === 404) {
        await notFound(what, response);
        return;
      }
      if (!response.ok) throw await refused(what, response);
      await response.body?.cancel().catch(() => {});
    },

    async *list(listPrefix: string): AsyncIterable<BlobInfo> {
      checkPrefix(listPrefix);
      const what = describe("list", listPrefix);
      let token: string | undefined;
      do {
        const query = [
          "list-type=2",
          `max-keys=${pageSize}`,
          `prefix=${encodeS3(prefix + listPrefix)}`,
          ...(token === undefined ? [] : [`continuation-token=${encodeS3(token)}`]),
        ].join("&");
        const response = await request(what, `${bucketUrl}/?${query}`, { method: "GET" });
        if (!response.ok) throw await refused(what, response);
        const page = parseListPage(await response.text());
        for (const object of page.objects) {
          if (!object.key.startsWith(prefix)) continue;
          yield {
            key: object.key.slice(prefix.length),
            size: object.size,
            uploadedAt: object.lastModified,
          };
        }
        if (page.truncated && !page.nextToken) {
          throw new StorageError(`${what} failed: a truncated page without a continuation token`);
        }
        token = page.truncated ? page.nextToken : undefined;
      } while (token !== undefined);
    },
  };
}
