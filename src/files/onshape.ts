/**
 * A small client for the Onshape REST API that exports a drawing as PDF: API-key request
 * signing (HMAC-SHA256 over method, nonce, date, content type, path and query), then the
 * asynchronous translation (start, poll, download the external data). Web standards only
 * (fetch, Web Crypto), so it runs on Deno, Node and workerd alike.
 */
import { isPdf } from "./rules.ts";

/** Workspace, version or microversion: which state of the document a link points at. */
export type OnshapeWvm = "w" | "v" | "m";

/** The ids in an Onshape element link. */
export interface OnshapeRef {
  documentId: string;
  wvm: OnshapeWvm;
  wvmId: string;
  elementId: string;
}

const PATH = /^\/documents\/([0-9a-f]{24})\/([wvm])\/([0-9a-f]{24})\/e\/([0-9a-f]{24})\/?$/i;
const ONSHAPE_HOST = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)*onshape\.com$/;

/**
 * Reads an Onshape element link such as `https://cad.onshape.com/documents/<did>/w/<wid>/e/<eid>`
 * (any `*.onshape.com` stack, e.g. an enterprise `company.onshape.com`, over https; or one of
 * `extraHosts`, e.g. the configured base URL's host). Null for anything else.
 */
export function parseOnshapeUrl(
  url: string,
  extraHosts: readonly string[] = [],
): OnshapeRef | null {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return null;
  }
  if (parsed.username !== "" || parsed.password !== "") return null;
  const extra = extraHosts.map((h) => h.toLowerCase()).includes(parsed.host);
  const onshape = parsed.protocol === "https:" && ONSHAPE_HOST.test(parsed.hostname);
  if (!onshape && !(extra && (parsed.protocol === "https:" || parsed.protocol === "http:"))) {
    return null;
  }
  const m = PATH.exec(parsed.pathname);
  if (m === null) return null;
  return {
    documentId: m[1].toLowerCase(),
    wvm: m[2].toLowerCase() as OnshapeWvm,
    wvmId: m[3].toLowerCase(),
    elementId: m[4].toLowerCase(),
  };
}

/** How to reach Onshape and how long to wait for it. */
export interface OnshapeClientOptions {
  accessKey: string;
  secretKey: string;
  /** The stack's origin, e.g. `https://cad.onshape.com`; every request goes here and only here. */
  baseUrl: string;
  fetch?: (input: Request | URL | string, init?: RequestInit) => Promise<Response>;
  /** The clock for the signed `Date` header, ms since the epoch. */
  now?: () => number;
  /** Wait between two polls of a running export; default 1 000 ms. */
  pollMs?: number;
  /** The whole export, start to last byte; default 60 000 ms. */
  timeoutMs?: number;
  /** Most status polls of one export; default 120. */
  maxPolls?: number;
  /** Largest PDF accepted; default 50 MiB. */
  maxBytes?: number;
}

/** A drawing PDF, or why there is none with the status the route should answer. */
export type DrawingPdfResult =
  | { ok: true; pdf: Uint8Array }
  | { ok: false; status: 404 | 422 | 502 | 503 | 504; message: string };

/** Fetches drawings from one Onshape stack. */
export interface OnshapeClient {
  /** The origin every request goes to. */
  readonly origin: string;
  /** Exports the drawing `ref` points at as PDF; never throws. */
  fetchDrawingPdf(ref: OnshapeRef, options?: { signal?: AbortSignal }): Promise<DrawingPdfResult>;
}

type FailureStatus = 404 | 422 | 502 | 503 | 504;

class OnshapeFailure extends Error {
  constructor(readonly status: FailureStatus, message: string) {
    super(message);
  }
}

const API = "/api/v6";
const JSON_ACCEPT = "application/json;charset=UTF-8; qs=0.09";
const CONTENT_TYPE = "application/json";
const MAX_JSON_BYTES = 1024 * 1024;
const MAX_REDIRECTS = 5;
const RESULT_ID = /^[A-Za-z0-9_-]{1,128}$/;
const ID = /^[0-9a-f]{24}$/;
const NONCE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const STARTING = "starting the PDF export";
const POLLING = "checking the PDF export";
const DOWNLOADING = "downloading the PDF";
const encoder = new TextEncoder();

/** The origin of a base URL that must be nothing but an origin. */
function originOf(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new Error(`ONSHAPE_BASE_URL is not a URL: ${JSON.stringify(baseUrl)}`);
  }
  const bare = url.pathname === "/" && url.search === "" && url.hash === "";
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.username || !bare) {
    throw new Error(
      `ONSHAPE_BASE_URL must be an origin such as https://cad.onshape.com, not ${url.href}`,
    );
  }
  return url.origin;
}

function nonce(): string {
  const out: string[] = [];
  while (out.length < 25) {
    for (const b of crypto.getRandomValues(new Uint8Array(32))) {
      // 252 = 7 × 36: rejecting the top bytes keeps every character equally likely.
      if (b < 252 && out.length < 25) out.push(NONCE_CHARS[b % 36]);
    }
  }
  return out.join("");
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** Onshape error bodies carry a `message`; keep a short, single-line, printable excerpt. */
function onshapeMessage(body: string): string {
  let text = body;
  try {
    const parsed = JSON.parse(body);
    if (parsed && typeof parsed.message === "string") text = parsed.message;
  } catch {
    // Not JSON: an HTML error page from a proxy says nothing useful.
    return "";
  }
  text = text.replace(/[\p{Cc}\p{Cf}]+/gu, " ").trim();
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

async function readLimited(
  res: Response,
  max: number,
  tooLarge: () => OnshapeFailure,
): Promise<Uint8Array> {
  const declared = Number(res.headers.get("content-length") ?? "");
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel();
    throw tooLarge();
  }
  if (res.body === null) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Creates a client bound to one stack and one API key pair; throws on a malformed base URL. */
export function createOnshapeClient(options: OnshapeClientOptions): OnshapeClient {
  const origin = originOf(options.baseUrl);
  const host = new URL(origin).host;
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const now = options.now ?? Date.now;
  const pollMs = options.pollMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxPolls = options.maxPolls ?? 120;
  const maxBytes = options.maxBytes ?? 50 * 1024 * 1024;
  let key: Promise<CryptoKey> | undefined;

  /** Never let a secret reach a message, whatever Onshape or the network echoed back. */
  const scrub = (text: string) =>
    [options.secretKey, options.accessKey].reduce(
      (t, secret) => (secret.length >= 4 ? t.replaceAll(secret, "[redacted]") : t),
      text,
    );

  async function authorization(method: string, url: URL, date: string, once: string) {
    key ??= crypto.subtle.importKey(
      "raw",
      encoder.encode(options.secretKey),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const query = url.search.startsWith("?") ? url.search.slice(1) : url.search;
    const signed = `${method}\n${once}\n${date}\n${CONTENT_TYPE}\n${url.pathname}\n${query}\n`
      .toLowerCase();
    const mac = await crypto.subtle.sign("HMAC", await key, encoder.encode(signed));
    return `On ${options.accessKey}:HmacSHA256:${base64(new Uint8Array(mac))}`;
  }

  /** What a non-2xx answer means for the caller, by the step it happened in. */
  async function failure(res: Response, step: string, ref: OnshapeRef): Promise<OnshapeFailure> {
    const body = await readLimited(res, 64 * 1024, () => new OnshapeFailure(502, ""))
      .catch(() => new Uint8Array(0));
    const said = onshapeMessage(new TextDecoder().decode(body));
    const quote = said ? `: ${said}` : "";
    const status = res.status;
    if (status === 401) {
      return new OnshapeFailure(
        502,
        `Onshape rejected the API key (401) while ${step}: check ONSHAPE_ACCESS_KEY and ` +
          `ONSHAPE_SECRET_KEY, and that this server's clock is right`,
      );
    }
    if (status === 403) {
      return new OnshapeFailure(
        502,
        `Onshape refused access (403) while ${step}: the API key's account cannot read ` +
          `document ${ref.documentId}, or the key lacks read permission${quote}`,
      );
    }
    if (status === 404 && step === STARTING) {
      return new OnshapeFailure(
        404,
        `Onshape has no drawing ${ref.elementId} in document ${ref.documentId} on ${host}, ` +
          `or the API key's account cannot see it`,
      );
    }
    if ((status === 400 || status === 415 || status === 422) && step === STARTING) {
      return new OnshapeFailure(
        422,
        `Onshape cannot export element ${ref.elementId} as a PDF (is it a drawing?)${quote}`,
      );
    }
    if (status === 429) {
      return new OnshapeFailure(503, `Onshape is rate limiting requests (429); try again later`);
    }
    return new OnshapeFailure(502, `Onshape answered ${status} while ${step}${quote}`);
  }

  /** One signed request; same-origin redirects are re-signed and followed, others refused. */
  async function call(
    method: "GET" | "POST",
    path: string,
    accept: string,
    body: string | undefined,
    step: string,
    ref: OnshapeRef,
    signal: AbortSignal,
  ): Promise<Response> {
    let url = new URL(path, origin);
    for (let hop = 0;; hop++) {
      const date = new Date(now()).toUTCString();
      const once = nonce();
      const res = await doFetch(url, {
        method,
        body,
        redirect: "manual",
        signal,
        headers: {
          "Accept": accept,
          "Authorization": await authorization(method, url, date, once),
          "Content-Type": CONTENT_TYPE,
          "Date": date,
          "On-Nonce": once,
        },
      });
      if (res.status >= 200 && res.status < 300) return res;
      if (![301, 302, 303, 307, 308].includes(res.status)) throw await failure(res, step, ref);
      await res.body?.cancel();
      const location = res.headers.get("location");
      let next: URL | null = null;
      try {
        next = location === null ? null : new URL(location, url);
      } catch {
        next = null;
      }
      if (next === null) {
        throw new OnshapeFailure(502, `Onshape sent a redirect without a usable Location`);
      }
      if (next.origin !== origin) {
        // The signature authorises the key holder; it must never travel to another host.
        throw new OnshapeFailure(
          502,
          `Onshape redirected to another host (${next.host}) while ${step}; not followed, ` +
            `so the API key stays with ${host}. If the documents live on that stack, set ` +
            `ONSHAPE_BASE_URL to ${next.origin}`,
        );
      }
      if (hop >= MAX_REDIRECTS) {
        throw new OnshapeFailure(502, `Onshape redirected too many times while ${step}`);
      }
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
        method = "GET";
        body = undefined;
      }
      url = next;
    }
  }

  async function json(res: Response, step: string): Promise<Record<string, unknown>> {
    const bytes = await readLimited(
      res,
      MAX_JSON_BYTES,
      () => new OnshapeFailure(502, `Onshape's answer was unexpectedly large while ${step}`),
    );
    try {
      const value = JSON.parse(new TextDecoder().decode(bytes));
      if (value !== null && typeof value === "object" && !Array.isArray(value)) return value;
    } catch {
      // fall through
    }
    throw new OnshapeFailure(502, `Onshape's answer was not the expected JSON while ${step}`);
  }

  function translationState(info: Record<string, unknown>, step: string): string {
    const state = info.requestState;
    if (state === "ACTIVE" || state === "DONE" || state === "FAILED") return state;
    throw new OnshapeFailure(
      502,
      `Onshape reported an unknown export state while ${step}: ${JSON.stringify(state)}`,
    );
  }

  async function exportPdf(ref: OnshapeRef, signal: AbortSignal): Promise<Uint8Array> {
    const { documentId: did, wvm, wvmId, elementId: eid } = ref;
    const start = await call(
      "POST",
      `${API}/drawings/d/${did}/${wvm}/${wvmId}/e/${eid}/translations`,
      JSON_ACCEPT,
      JSON.stringify({ formatName: "PDF", storeInDocument: false, notifyUser: false }),
      STARTING,
      ref,
      signal,
    );
    let info = await json(start, STARTING);
    const id = info.id;
    if (typeof id !== "string" || !RESULT_ID.test(id)) {
      throw new OnshapeFailure(502, `Onshape started an export without a usable id`);
    }
    let state = translationState(info, STARTING);
    for (let polls = 0; state === "ACTIVE"; polls++) {
      if (polls >= maxPolls) {
        throw new OnshapeFailure(
          504,
          `Onshape's PDF export was still running after ${polls} status checks`,
        );
      }
      await sleep(pollMs, signal);
      const res = await call(
        "GET",
        `${API}/translations/${id}`,
        JSON_ACCEPT,
        undefined,
        POLLING,
        ref,
        signal,
      );
      info = await json(res, POLLING);
      state = translationState(info, POLLING);
    }
    if (state === "FAILED") {
      const reason = typeof info.failureReason === "string"
        ? onshapeMessage(JSON.stringify({ message: info.failureReason }))
        : "";
      throw new OnshapeFailure(
        422,
        `Onshape could not export the drawing as PDF${reason ? `: ${reason}` : ""}`,
      );
    }
    const results = info.resultExternalDataIds;
    const fileId = Array.isArray(results) ? results[0] : undefined;
    if (typeof fileId !== "string" || !RESULT_ID.test(fileId)) {
      throw new OnshapeFailure(502, `Onshape finished the export without a result file`);
    }
    const download = await call(
      "GET",
      `${API}/documents/d/${did}/externaldata/${fileId}`,
      "application/octet-stream",
      undefined,
      DOWNLOADING,
      ref,
      signal,
    );
    const pdf = await readLimited(
      download,
      maxBytes,
      () =>
        new OnshapeFailure(
          502,
          `The drawing PDF from Onshape is larger than ${Math.floor(maxBytes / 1024 / 1024)} MiB`,
        ),
    );
    if (!isPdf(pdf)) {
      throw new OnshapeFailure(502, `Onshape's export result is not a PDF`);
    }
    return pdf;
  }

  return {
    origin,
    async fetchDrawingPdf(ref, callOptions = {}) {
      if (![ref.documentId, ref.wvmId, ref.elementId].every((v) => ID.test(v))) {
        return { ok: false, status: 422, message: "Not a valid Onshape drawing link" };
      }
      if (ref.wvm !== "w" && ref.wvm !== "v") {
        // Onshape's drawing export takes a workspace or a version ({wv}), not a microversion.
        return {
          ok: false,
          status: 422,
          message: "Onshape exports drawings from a workspace or a version, and this link " +
            "points at a microversion: link the drawing in its workspace or a version instead",
        };
      }
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort(new Error("timeout"));
      }, timeoutMs);
      const outer = callOptions.signal;
      const forward = () => controller.abort(outer?.reason);
      if (outer?.aborted) forward();
      outer?.addEventListener("abort", forward, { once: true });
      try {
        return { ok: true, pdf: await exportPdf(ref, controller.signal) };
      } catch (error) {
        if (error instanceof OnshapeFailure) {
          return { ok: false, status: error.status, message: scrub(error.message) };
        }
        if (timedOut) {
          return {
            ok: false,
            status: 504,
            message: `Onshape did not deliver the drawing PDF within ${
              timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`
            }`,
          };
        }
        if (controller.signal.aborted) {
          return { ok: false, status: 504, message: "The drawing request was cancelled" };
        }
        const why = error instanceof Error ? error.message.slice(0, 200) : String(error);
        return {
          ok: false,
          status: 502,
          message: scrub(`Could not reach Onshape at ${host}: ${why}`),
        };
      } finally {
        clearTimeout(timer);
        outer?.removeEventListener("abort", forward);
      }
    },
  };
}
