/**
 * A local stand-in for the part of the Onshape REST API that exports drawings, written from
 * Onshape's documentation rather than from our client: it checks API-key signatures the way
 * Onshape describes them (and with its own HMAC code, node:crypto, so a mistake shared with
 * the client cannot pass), starts PDF translations, answers polls (ACTIVE first, then DONE) and
 * serves the result as external data. Modes turn on the failures a real stack can produce.
 */
import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";

/** How the stand-in misbehaves; `ok` follows the happy path. */
export type StandInMode =
  /** Every translation ends FAILED with a `failureReason`. */
  | "failed"
  /** The translation POST answers 404, as for a document or element that does not exist. */
  | "not-found"
  /** The translation POST never answers (until the client gives up or the stand-in closes). */
  | "hang"
  /** Translations stay ACTIVE forever. */
  | "stuck"
  /** The external data is HTML, not a PDF. */
  | "not-pdf"
  /** The external-data download redirects (307) to `redirectTo`, on another host. */
  | "redirect"
  /** The external-data download redirects (307) to another path with a query on this host. */
  | "redirect-same-host"
  | "ok";

export interface OnshapeStandInOptions {
  accessKey?: string;
  secretKey?: string;
  mode?: StandInMode;
  /** The bytes the external data holds; a small valid PDF by default. */
  pdf?: Uint8Array;
  /** Where `redirect` mode sends the download. */
  redirectTo?: string;
  /** How many polls answer ACTIVE before the translation is done (default 1). */
  activePolls?: number;
}

/** One request the stand-in received. */
export interface StandInRequest {
  method: string;
  path: string;
  /** The query string without `?`. */
  query: string;
  /** Whether an Authorization header came with it at all. */
  hasAuthorization: boolean;
  /** Whether its signature was valid. */
  authorized: boolean;
  nonce: string | null;
  /** The parsed JSON body of a POST. */
  body?: unknown;
}

export interface OnshapeStandIn {
  /** The origin to use as ONSHAPE_BASE_URL, e.g. `http://127.0.0.1:4567`. */
  url: string;
  /** The host, for `parseOnshapeUrl(url, [host])`. */
  host: string;
  requests: StandInRequest[];
  /** Ids of the drawing the stand-in knows, and links to it. */
  drawing: { documentId: string; workspaceId: string; versionId: string; elementId: string };
  /** An element of the same document that is a Part Studio, not a drawing. */
  partStudioElementId: string;
  /** The PDF it serves. */
  pdf: Uint8Array;
  close(): Promise<void>;
}

export const STAND_IN_ACCESS_KEY = "standInAccessKey0123456";
export const STAND_IN_SECRET_KEY = "standInSecretKey0123456789abcdefghijklmn";

const DRAWING = {
  documentId: "0123456789abcdef01234567",
  workspaceId: "1123456789abcdef01234567",
  versionId: "2123456789abcdef01234567",
  elementId: "3123456789abcdef01234567",
};
const PART_STUDIO = "4123456789abcdef01234567";
const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** A one-page PDF with a correct cross-reference table. */
export function minimalPdf(text = "Drawing"): Uint8Array {
  const content = `BT /F1 24 Tf 72 700 Td (${text.replace(/[()\\]/g, "")}) Tj ET`;
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R " +
    "/Resources << /Font << /F1 5 0 R >> >> >>",
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  let out = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, "0")} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return new TextEncoder().encode(out);
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json;charset=utf-8", ...headers },
  });

const onshapeError = (status: number, message: string) => json(status, { message, status });

/** Starts the stand-in on 127.0.0.1 on a free port. */
export function startOnshapeStandIn(options: OnshapeStandInOptions = {}): OnshapeStandIn {
  const accessKey = options.accessKey ?? STAND_IN_ACCESS_KEY;
  const secretKey = options.secretKey ?? STAND_IN_SECRET_KEY;
  const mode = options.mode ?? "ok";
  const pdf = options.pdf ?? minimalPdf();
  const activePolls = options.activePolls ?? 1;
  const requests: StandInRequest[] = [];
  const seenNonces = new Set<string>();
  const translations = new Map<string, { polls: number; documentId: string }>();
  /** External data id → the document it belongs to. */
  const results = new Map<string, string>();
  const hanging = new Set<() => void>();
  let nextId = 0;
  const newId = (prefix: string) => prefix + (nextId++).toString(16).padStart(23, "0");

  /** Onshape's documented check: the lower-cased signing string, HMAC-SHA256, base64. */
  function verify(req: Request, url: URL): { ok: boolean; nonce: string | null } {
    const auth = req.headers.get("authorization");
    const nonce = req.headers.get("on-nonce");
    const date = req.headers.get("date");
    const contentType = req.headers.get("content-type");
    const m = auth === null ? null : /^On ([^:\s]+):HmacSHA256:([A-Za-z0-9+/=]+)$/.exec(auth);
    if (m === null || m[1] !== accessKey || !nonce || nonce.length < 16 || !date) {
      return { ok: false, nonce };
    }
    const sent = Date.parse(date);
    if (!Number.isFinite(sent) || Math.abs(Date.now() - sent) > CLOCK_SKEW_MS) {
      return { ok: false, nonce };
    }
    if (seenNonces.has(nonce)) return { ok: false, nonce };
    seenNonces.add(nonce);
    const query = url.search.replace(/^\?/, "");
    const signing = [req.method, nonce, date, contentType ?? "", url.pathname, query, ""]
      .join("\n").toLowerCase();
    const expected = createHmac("sha256", secretKey).update(signing).digest();
    const given = Buffer.from(m[2], "base64");
    const ok = given.length === expected.length && timingSafeEqual(given, expected);
    return { ok, nonce };
  }

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const { ok, nonce } = verify(req, url);
    const record: StandInRequest = {
      method: req.method,
      path: url.pathname,
      query: url.search.replace(/^\?/, ""),
      hasAuthorization: req.headers.has("authorization"),
      authorized: ok,
      nonce,
    };
    requests.push(record);
    if (req.method === "POST") {
      try {
        record.body = await req.json();
      } catch {
        record.body = undefined;
      }
    }
    if (!ok) return onshapeError(401, "Unauthenticated API request");

    const p = url.pathname;
    const start = /^\/api\/v\d+\/drawings\/d\/(\w+)\/([wv])\/(\w+)\/e\/(\w+)\/translations$/.exec(
      p,
    );
    if (start && req.method === "POST") {
      const [, did, wv, wvid, eid] = start;
      if (mode === "hang") {
        return await new Promise<Response>((resolve) => {
          // Held until close(), whatever the client does meanwhile.
          const release = () => {
            hanging.delete(release);
            resolve(onshapeError(503, "Stand-in closed"));
          };
          hanging.add(release);
        });
      }
      const knownVersion = wv === "w" ? wvid === DRAWING.workspaceId : wvid === DRAWING.versionId;
      if (mode === "not-found" || did !== DRAWING.documentId || !knownVersion) {
        return onshapeError(404, "Not found");
      }
      if (eid === PART_STUDIO) return onshapeError(400, "Element is not a drawing");
      if (eid !== DRAWING.elementId) return onshapeError(404, "Element not found");
      const body = record.body as { formatName?: unknown } | undefined;
      if (body?.formatName !== "PDF") return onshapeError(400, "Unsupported format");
      const id = newId("5");
      translations.set(id, { polls: 0, documentId: did });
      return json(200, {
        id,
        requestState: "ACTIVE",
        href: `${url.origin}${p.replace(/\/drawings\/.*$/, "")}/translations/${id}`,
        documentId: did,
        requestElementId: eid,
        resultExternalDataIds: null,
        failureReason: null,
      });
    }

    const poll = /^\/api\/v\d+\/translations\/(\w+)$/.exec(p);
    if (poll && req.method === "GET") {
      const t = translations.get(poll[1]);
      if (t === undefined) return onshapeError(404, "Translation not found");
      t.polls++;
      const base = { id: poll[1], documentId: t.documentId, resultDocumentId: t.documentId };
      if (mode === "stuck" || t.polls <= activePolls) {
        return json(200, { ...base, requestState: "ACTIVE" });
      }
      if (mode === "failed") {
        return json(200, {
          ...base,
          requestState: "FAILED",
          failureReason: "Drawing has no sheets to export",
        });
      }
      const fileId = newId("e");
      results.set(fileId, t.documentId);
      return json(200, { ...base, requestState: "DONE", resultExternalDataIds: [fileId] });
    }

    const data = /^\/api\/v\d+\/documents\/d\/(\w+)\/externaldata\/(\w+)$/.exec(p);
    if (data && req.method === "GET") {
      if (results.get(data[2]) !== data[1]) return onshapeError(404, "No such external data");
      if (mode === "redirect") {
        return new Response(null, {
          status: 307,
          headers: { location: options.redirectTo ?? "http://localhost:9/elsewhere" },
        });
      }
      if (mode === "redirect-same-host") {
        return new Response(null, {
          status: 307,
          headers: { location: `/api/v6/blobs/${data[2]}?region=test&part=1` },
        });
      }
      if (mode === "not-pdf") {
        return new Response("<html><body>Sign in to Onshape</body></html>", {
          headers: { "content-type": "application/pdf" },
        });
      }
      return new Response(pdf.slice(), { headers: { "content-type": "application/pdf" } });
    }

    const blob = /^\/api\/v6\/blobs\/(\w+)$/.exec(p);
    if (blob && req.method === "GET" && results.has(blob[1]) && url.searchParams.has("region")) {
      return new Response(pdf.slice(), { headers: { "content-type": "application/pdf" } });
    }
    return onshapeError(404, "Not found");
  }

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handle);
  const host = `127.0.0.1:${server.addr.port}`;
  return {
    url: `http://${host}`,
    host,
    requests,
    drawing: { ...DRAWING },
    partStudioElementId: PART_STUDIO,
    pdf,
    async close() {
      for (const release of [...hanging]) release();
      await server.shutdown();
    },
  };
}
