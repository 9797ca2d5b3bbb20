import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { App, AppEnv, RouteContext } from "../context.ts";
import type { FileSlot } from "../db/files-repo.ts";
import type { PartFileRow, PartRow, PartViewRow } from "../db/schema.ts";
import { ApiError } from "../errors.ts";
import { blobKey, conversionState, glbKey } from "../files/conversions.ts";
import { contentRange, ifNoneMatchMatches, parseRange } from "../files/http-range.ts";
import { parseOnshapeUrl } from "../files/onshape.ts";
import {
  classifyUpload,
  CONTENT_TYPES,
  contentDisposition,
  isPng,
  KIND_EXTENSIONS,
  sanitizeFilename,
  SNIFF_BYTES,
  UPLOAD_KINDS,
  type UploadKind,
} from "../files/rules.ts";
import { type CheckedFile, modelFormat } from "../files/service.ts";
import type { BlobStore, ByteRange } from "../storage/types.ts";
import { errors, IdParams, jsonResponse } from "../schemas/common.ts";
import { access } from "./access.ts";
import { type FormPart, readMultipart } from "./multipart.ts";

const tags = ["Files"];

/** Largest preview image accepted. */
export const MAX_VIEW_BYTES = 4 * 1024 * 1024;
export const VIEW_COUNT = 8;

const errorResponse = (description: string) => ({
  content: { "application/json": { schema: errors[400].content["application/json"].schema } },
  description,
});

const binary = (type: string, description: string) => ({
  content: { [type]: { schema: { type: "string" as const, format: "binary" } } },
  description,
});

const multipart = (fields: string[], description: string) => ({
  content: {
    "multipart/form-data": {
      schema: {
        type: "object" as const,
        properties: Object.fromEntries(
          fields.map((f) => [f, { type: "string" as const, format: "binary" }]),
        ),
      },
    },
  },
  description,
  required: true,
});

const ConversionSchema = z.object({
  status: z.enum(["queued", "running", "done", "failed"]),
  error: z.string().optional(),
}).openapi("Conversion");

const UploadSchema = z.object({
  message: z.string(),
  filename: z.string(),
  rev: z.number().int(),
  size: z.number().int(),
  sha256: z.string(),
  contentType: z.string(),
  conversion: ConversionSchema.optional(),
}).openapi("Upload");

const RevisionSchema = z.object({
  slot: z.enum(["file", "drawing"]),
  rev: z.number().int(),
  current: z.boolean(),
  filename: z.string(),
  kind: z.enum(["step", "stl", "pdf"]),
  contentType: z.string(),
  size: z.number().int(),
  sha256: z.string(),
  uploadedBy: z.string(),
  source: z.enum(["upload", "onshape"]),
  uploadedAt: z.string(),
  conversion: ConversionSchema.optional(),
}).openapi("FileRevision");

const ManifestSchema = z.object({
  files: z.record(z.string(), z.object({ filename: z.string(), timestamp: z.string() })),
  updated_at: z.string(),
}).openapi("ViewManifest");

const RevQuery = z.object({
  rev: z.string().regex(/^[1-9][0-9]{0,8}$/, "rev must be a revision number (1, 2, …)")
    .optional().openapi({ type: "integer", minimum: 1 }),
});

const ViewParams = IdParams.extend({
  index: z.string().openapi({ param: { name: "index", in: "path" }, example: "0" }),
});

const fileErrors = {
  400: errorResponse("No file, an empty name, or a type that is not accepted"),
  401: errors[401],
  403: errors[403],
  404: errors[404],
  413: errors[413],
};

const uploadRoute = createRoute({
  method: "post",
  path: "/api/parts/{id}/upload",
  operationId: "uploadPartFile",
  summary: "Upload the part's STEP, STL or PDF file (multipart field `file`)",
  tags,
  ...access("member"),
  request: { params: IdParams, body: multipart(["file"], "The file") },
  responses: {
    201: jsonResponse(UploadSchema, "Stored as the part's newest revision"),
    ...fileErrors,
  },
});

const listFilesRoute = createRoute({
  method: "get",
  path: "/api/parts/{id}/files",
  operationId: "listPartFiles",
  summary: "Every stored revision of the part's files, with size, SHA-256, who and when",
  tags,
  ...access("viewer"),
  request: { params: IdParams },
  responses: {
    200: jsonResponse(
      z.object({ files: z.array(RevisionSchema), views: ManifestSchema.nullable() }),
      "Revisions, newest first per slot",
    ),
    401: errors[401],
    404: errors[404],
  },
});

const downloadRoute = (path: "download" | "file") =>
  createRoute({
    method: "get",
    path: `/api/parts/{id}/${path}`,
    operationId: path === "download" ? "downloadPartFile" : "viewPartFile",
    summary: path === "download"
      ? "The part's file as an attachment (`?rev=N` for an older revision)"
      : "The part's file inline (a PDF shows in the browser)",
    tags,
    ...access("viewer"),
    request: { params: IdParams, query: RevQuery },
    responses: {
      200: binary("application/octet-stream", "The file"),
      206: binary("application/octet-stream", "The requested byte range"),
      304: { description: "Not modified (If-None-Match)" },
      401: errors[401],
      404: errors[404],
      416: errorResponse("The range starts past the end of the file"),
    },
  });

const modelRoute = createRoute({
  method: "get",
  path: "/api/parts/{id}/model",
  operationId: "getPartModel",
  summary: "The part's STEP or STL file as binary glTF, converted on the server once per revision",
  tags,
  ...access("viewer"),
  request: { params: IdParams, query: RevQuery },
  responses: {
    200: binary("model/gltf-binary", "The model"),
    304: { description: "Not modified (If-None-Match)" },
    401: errors[401],
    404: errors[404],
    422: errorResponse("The file could not be converted"),
    503: errorResponse("The model is not converted yet here; try again later"),
  },
});

const postViewsRoute = createRoute({
  method: "post",
  path: "/api/parts/{id}/views",
  operationId: "putPartViews",
  summary: "Store the preview images rendered from the model (multipart `view_0` … `view_7`)",
  tags,
  ...access("member"),
  request: {
    params: IdParams,
    body: multipart(Array.from({ length: VIEW_COUNT }, (_, i) => `view_${i}`), "PNG images"),
  },
  responses: {
    200: jsonResponse(
      z.object({ success: z.literal(true), views: ManifestSchema }),
      "The stored views",
    ),
    ...fileErrors,
  },
});

const getViewsRoute = createRoute({
  method: "get",
  path: "/api/parts/{id}/views",
  operationId: "getPartViews",
  summary: "The stored views' manifest (null when there are none)",
  tags,
  ...access("viewer"),
  request: { params: IdParams },
  responses: {
    200: jsonResponse(z.object({ views: ManifestSchema.nullable() }), "The manifest"),
    401: errors[401],
    404: errors[404],
  },
});

const getViewRoute = createRoute({
  method: "get",
  path: "/api/parts/{id}/views/{index}",
  operationId: "getPartView",
  summary: "One stored view, index 0–7",
  tags,
  ...access("viewer"),
  request: { params: ViewParams },
  responses: {
    200: binary("image/png", "The image"),
    304: { description: "Not modified (If-None-Match)" },
    401: errors[401],
    404: errors[404],
  },
});

const getDrawingRoute = createRoute({
  method: "get",
  path: "/api/parts/{id}/drawing",
  operationId: "getPartDrawing",
  summary: "A hand part's drawing PDF: the uploaded one, else fetched from Onshape",
  tags,
  ...access("viewer"),
  request: {
    params: IdParams,
    query: z.object({
      refresh: z.enum(["true", "false", "1", "0"], { error: "refresh must be true or false" })
        .optional(),
    }),
  },
  responses: {
    200: binary("application/pdf", "The drawing"),
    304: { description: "Not modified (If-None-Match)" },
    400: errorResponse("The part is not a hand part"),
    401: errors[401],
    404: errors[404],
    422: errorResponse("The part's Onshape URL does not name a drawing"),
    503: errorResponse("Onshape is not configured or did not answer"),
  },
});

const postDrawingRoute = createRoute({
  method: "post",
  path: "/api/parts/{id}/drawing",
  operationId: "uploadPartDrawing",
  summary: "Upload a hand part's drawing PDF (multipart field `file`)",
  tags,
  ...access("member"),
  request: { params: IdParams, body: multipart(["file"], "The PDF") },
  responses: {
    201: jsonResponse(UploadSchema, "Stored as the part's newest drawing"),
    ...fileErrors,
  },
});

const iso = (ms: number) => new Date(ms).toISOString();

/** The manifest the frontend reads: `{files: {"0": {filename, timestamp}}, updated_at}`. */
export function viewManifest(rows: PartViewRow[]) {
  if (rows.length === 0) return null;
  const files: Record<string, { filename: string; timestamp: string }> = {};
  for (const r of rows) {
    files[String(r.idx)] = { filename: `view_${r.idx}.png`, timestamp: iso(r.createdAt) };
  }
  return { files, updated_at: iso(Math.max(...rows.map((r) => r.createdAt))) };
}

async function partOr404(ctx: RouteContext, c: Context<AppEnv>): Promise<PartRow> {
  const id = Number(c.req.param("id"));
  const part = await ctx.repo.get(id);
  if (!part) throw new ApiError("not_found", "Part not found");
  return part;
}

const noFile = () => new ApiError("not_found", "No file associated with this part");

/** The revision a request asks for (`?rev=N`), or the newest. */
async function revision(
  ctx: RouteContext,
  part: PartRow,
  slot: FileSlot,
  rev: string | undefined,
): Promise<PartFileRow> {
  const row = await ctx.fileRows.current(
    part.id,
    slot,
    rev === undefined ? undefined : Number(rev),
  );
  if (!row) {
    if (rev !== undefined) throw new ApiError("not_found", `No revision ${rev} of this file`);
    throw noFile();
  }
  return row;
}

/**
 * Streams a stored blob with its validators: ETag, 304 for a matching If-None-Match, and a
 * single byte range (206) or 416.
 */
async function serveBlob(
  c: Context<AppEnv>,
  store: BlobStore,
  key: string,
  o: { etag: string; contentType: string; disposition?: string; missing: () => ApiError },
): Promise<Response> {
  const headers: Record<string, string> = {
    "Content-Type": o.contentType,
    ETag: o.etag,
    "Cache-Control": "private, no-cache",
    "Accept-Ranges": "bytes",
    ...(o.disposition ? { "Content-Disposition": o.disposition } : {}),
  };
  if (ifNoneMatchMatches(c.req.header("if-none-match"), o.etag)) {
    return c.body(null, 304, headers);
  }
  const rangeHeader = c.req.header("range");
  let range: ByteRange | undefined;
  if (rangeHeader !== undefined) {
    // Only a range needs the size before the read.
    const info = await store.head(key);
    if (!info) throw o.missing();
    const asked = parseRange(rangeHeader, info.size);
    if (asked.kind === "unsatisfiable") {
      throw new ApiError("range_not_satisfiable", "The range starts past the end of the file", {
        details: `The file has ${info.size} bytes`,
      }, { "Content-Range": contentRange(info.size) });
    }
    if (asked.kind === "range") range = { offset: asked.offset, length: asked.length };
  }
  const blob = await store.get(key, range);
  if (!blob) throw o.missing();
  if (range) {
    const r = blob.range ?? { offset: range.offset, length: range.length! };
    headers["Content-Range"] = contentRange(blob.size, r);
    headers["Content-Length"] = String(r.length);
    return c.body(blob.body, 206, headers);
  }
  headers["Content-Length"] = String(blob.size);
  return c.body(blob.body, 200, headers);
}

/** Reads the `file` field of an upload and checks its name and content. */
async function readUpload(
  ctx: RouteContext,
  c: Context<AppEnv>,
  allowed: readonly UploadKind[],
): Promise<CheckedFile> {
  const allowedText = allowed.flatMap((k) => KIND_EXTENSIONS[k]).join(", ");
  const parts = await readMultipart(c, {
    maxPartBytes: ctx.config.maxUploadBytes,
    maxParts: 1,
    keep: (name) => name === "file",
  }, "No file provided");
  const file: FormPart | undefined = parts[0];
  if (!file || file.filename === undefined) {
    throw new ApiError("validation_failed", "No file provided", {
      details: "Send the file in the multipart field 'file'",
      field: "file",
    });
  }
  if (file.filename.trim() === "") {
    throw new ApiError("validation_failed", "No file selected", { field: "file" });
  }
  // Browsers write a quote in a file name as %22 (and CR, LF as %0D, %0A).
  const name = sanitizeFilename(file.filename.replace(/%22/g, '"').replace(/%0[DA]/gi, " "));
  if (!name.ok) {
    if (name.reason === "empty") {
      throw new ApiError("validation_failed", "No file selected", { field: "file" });
    }
    throw new ApiError("validation_failed", "Invalid file type", {
      details: `${name.message}. Allowed file types: ${allowedText}`,
      field: "file",
    });
  }
  const kind = classifyUpload(name.name, firstBytes(file.content, SNIFF_BYTES), file.size, allowed);
  if (!kind.ok) {
    throw new ApiError("validation_failed", "Invalid file type", {
      details: kind.details,
      field: "file",
    });
  }
  if (file.size === 0) {
    throw new ApiError("validation_failed", "The file is empty", { field: "file" });
  }
  return {
    filename: name.name,
    kind: kind.kind,
    contentType: kind.contentType,
    content: file.content,
  };
}

/** The first `n` bytes of chunked content. */
function firstBytes(chunks: Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(Math.min(n, chunks.reduce((s, c) => s + c.byteLength, 0)));
  let at = 0;
  for (const chunk of chunks) {
    if (at >= out.length) break;
    const take = chunk.subarray(0, out.length - at);
    out.set(take, at);
    at += take.byteLength;
  }
  return out;
}

function uploadAnswer(
  row: PartFileRow,
  conversion: ReturnType<typeof conversionState> | undefined,
  message: string,
) {
  return {
    message,
    filename: row.filename,
    rev: row.rev,
    size: row.size,
    sha256: row.sha256,
    contentType: row.contentType,
    ...(conversion ? { conversion } : {}),
  };
}

const isHandPart = (part: PartRow) => part.type !== "cnc";

/** Upload, download, model, views and drawing routes of a part's files. */
export function registerFileRoutes(app: App, ctx: RouteContext): void {
  const { files } = ctx;
  const store = files.store;

  app.openapi(uploadRoute, async (c) => {
    const part = await partOr404(ctx, c);
    const file = await readUpload(ctx, c, UPLOAD_KINDS);
    const stored = await files.upload(part.id, "file", file, c.get("principal").name);
    if (!stored) throw new ApiError("not_found", "Part not found");
    return c.json(uploadAnswer(stored.row, stored.conversion, "File uploaded successfully"), 201);
  });

  app.openapi(listFilesRoute, async (c) => {
    const part = await partOr404(ctx, c);
    const [rows, views] = await Promise.all([
      ctx.fileRows.list(part.id),
      ctx.fileRows.views(part.id),
    ]);
    const newest = new Map<string, number>();
    for (const r of rows) newest.set(r.slot, Math.max(newest.get(r.slot) ?? 0, r.rev));
    const out = [];
    for (const r of rows) {
      const format = r.slot === "file" ? modelFormat(r.kind) : null;
      const conversion = format ? await files.conversions.state(r.sha256) : undefined;
      out.push({
        slot: r.slot,
        rev: r.rev,
        current: newest.get(r.slot) === r.rev,
        filename: r.filename,
        kind: r.kind,
        contentType: r.contentType,
        size: r.size,
        sha256: r.sha256,
        uploadedBy: r.uploadedBy,
        source: r.source,
        uploadedAt: iso(r.createdAt),
        ...(conversion ? { conversion: conversionState(conversion) } : {}),
      });
    }
    return c.json({ files: out, views: viewManifest(views) }, 200);
  });

  for (const path of ["download", "file"] as const) {
    app.openapi(
      downloadRoute(path),
      async (c) => {
        const part = await partOr404(ctx, c);
        const row = await revision(ctx, part, "file", c.req.query("rev"));
        return serveBlob(c, store, blobKey(row.sha256), {
          etag: `"${row.sha256}"`,
          contentType: row.contentType,
          disposition: contentDisposition(
            path === "download" ? "attachment" : "inline",
            row.filename,
          ),
          missing: noFile,
        });
      },
    );
  }

  app.openapi(
    modelRoute,
    async (c) => {
      const part = await partOr404(ctx, c);
      const row = await revision(ctx, part, "file", c.req.query("rev"));
      const format = modelFormat(row.kind);
      if (!format) {
        throw new ApiError("not_found", "No 3D model for this part", {
          details: "The part's file is a PDF; a model needs a STEP or STL file",
        });
      }
      const etag = `"glb-${row.sha256}"`;
      // Before the conversion is known, only the model's own tag may answer 304 (not `*`).
      const inm = c.req.header("if-none-match");
      if (inm?.trim() !== "*" && ifNoneMatchMatches(inm, etag)) {
        return c.body(null, 304, { ETag: etag, "Cache-Control": "private, no-cache" });
      }
      const job = await files.conversions.settle(
        row.sha256,
        format,
        ctx.config.conversionTimeoutMs + 5000,
      );
      if (job.status === "failed") {
        throw new ApiError("unprocessable", "Model conversion failed", {
          details: job.error ?? "the file could not be read",
        });
      }
      if (job.status !== "done") {
        throw new ApiError(
          "unavailable",
          files.conversions.local
            ? "The 3D model is still being converted; try again shortly"
            : "The 3D model is not converted yet: on this deployment conversion runs in the " +
              "converter process (deno task converter)",
          { conversion: conversionState(job) },
          { "Retry-After": "5" },
        );
      }
      return serveBlob(c, store, glbKey(row.sha256), {
        etag,
        contentType: CONTENT_TYPES.glb,
        missing: () =>
          new ApiError("unavailable", "The converted model is missing from storage", {}, {
            "Retry-After": "5",
          }),
      });
    },
  );

  app.openapi(postViewsRoute, async (c) => {
    const part = await partOr404(ctx, c);
    const parts = await readMultipart(c, {
      maxPartBytes: MAX_VIEW_BYTES,
      maxParts: VIEW_COUNT,
      keep: (name) => name.startsWith("view_"),
    }, "No views provided");
    const views: { idx: number; part: FormPart }[] = [];
    for (const p of parts) {
      const m = /^view_([0-7])$/.exec(p.name);
      if (!m) {
        throw new ApiError("validation_failed", `Unknown view field '${p.name.slice(0, 40)}'`, {
          details: "Views are view_0 … view_7",
          field: p.name.slice(0, 40),
        });
      }
      if (!isPng(firstBytes(p.content, 33))) {
        throw new ApiError("validation_failed", `${p.name} is not a PNG image`, {
          field: p.name,
        });
      }
      views.push({ idx: Number(m[1]), part: p });
    }
    if (views.length === 0) {
      throw new ApiError("validation_failed", "No views provided", {
        details: "Send PNG images in the multipart fields view_0 … view_7",
      });
    }
    const now = ctx.now();
    const rows = [];
    for (const v of views) {
      const { sha256, size } = await files.storeBlob(v.part.content, CONTENT_TYPES.png);
      rows.push({ idx: v.idx, sha256, size, createdAt: now });
    }
    await ctx.fileRows.putViews(part.id, rows);
    const manifest = viewManifest(await ctx.fileRows.views(part.id))!;
    return c.json({ success: true as const, views: manifest }, 200);
  });

  app.openapi(getViewsRoute, async (c) => {
    const part = await partOr404(ctx, c);
    return c.json({ views: viewManifest(await ctx.fileRows.views(part.id)) }, 200);
  });

  app.openapi(
    getViewRoute,
    async (c) => {
      const part = await partOr404(ctx, c);
      const index = c.req.param("index") ?? "";
      const notFound = () => new ApiError("not_found", "View image not found");
      if (!/^[0-7]$/.test(index)) throw notFound();
      const view = (await ctx.fileRows.views(part.id)).find((v) => v.idx === Number(index));
      if (!view) throw notFound();
      return serveBlob(c, store, blobKey(view.sha256), {
        etag: `"${view.sha256}"`,
        contentType: CONTENT_TYPES.png,
        missing: notFound,
      });
    },
  );

  app.openapi(postDrawingRoute, async (c) => {
    const part = await partOr404(ctx, c);
    if (!isHandPart(part)) {
      throw new ApiError("validation_failed", "Drawings are for hand parts", {
        details: "This is a CNC part: upload its file with /upload",
      });
    }
    const file = await readUpload(ctx, c, ["pdf"]);
    const stored = await files.upload(part.id, "drawing", file, c.get("principal").name);
    if (!stored) throw new ApiError("not_found", "Part not found");
    return c.json(uploadAnswer(stored.row, undefined, "Drawing uploaded successfully"), 201);
  });

  app.openapi(
    getDrawingRoute,
    async (c) => {
      const part = await partOr404(ctx, c);
      if (!isHandPart(part)) {
        throw new ApiError("validation_failed", "Drawings are for hand parts", {
          details: "This is a CNC part: its file is at /download",
        });
      }
      const refresh = ["true", "1"].includes(c.req.query("refresh") ?? "");
      let row = await ctx.fileRows.current(part.id, "drawing");
      const fromOnshape = part.onshapeUrl !== null && (!row || row.source === "onshape");
      if (!row || (refresh && fromOnshape)) {
        const file = row ? undefined : await ctx.fileRows.current(part.id, "file");
        if (!refresh && file?.kind === "pdf") row = file;
        else row = await fetchDrawing(ctx, part) ?? row;
      }
      if (!row) throw noFile();
      return serveBlob(c, store, blobKey(row.sha256), {
        etag: `"${row.sha256}"`,
        contentType: CONTENT_TYPES.pdf,
        disposition: contentDisposition("inline", row.filename),
        missing: noFile,
      });
    },
  );
}

/** Fetches the part's drawing from Onshape and stores it as its newest drawing revision. */
async function fetchDrawing(
  ctx: RouteContext,
  part: PartRow,
): Promise<PartFileRow | undefined> {
  if (!part.onshapeUrl) return undefined;
  if (!ctx.onshape) {
    throw new ApiError(
      "unavailable",
      "Onshape is not configured: set ONSHAPE_ACCESS_KEY and ONSHAPE_SECRET_KEY",
    );
  }
  const ref = parseOnshapeUrl(part.onshapeUrl, [new URL(ctx.onshape.origin).host]);
  if (!ref) {
    throw new ApiError("unprocessable", "The part's onshapeUrl is not an Onshape element URL", {
      details: "Expected https://cad.onshape.com/documents/<id>/w/<id>/e/<id>",
    });
  }
  const result = await ctx.onshape.fetchDrawingPdf(ref);
  if (!result.ok) {
    const code = result.status === 404
      ? "not_found"
      : result.status === 422
      ? "unprocessable"
      : "unavailable";
    throw new ApiError(code, `Onshape: ${result.message}`);
  }
  const stored = await ctx.files.upload(
    part.id,
    "drawing",
    {
      filename: `${part.partId.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 80) || "drawing"}.pdf`,
      kind: "pdf",
      contentType: CONTENT_TYPES.pdf,
      content: [result.pdf],
    },
    "Onshape",
    "onshape",
  );
  return stored?.row;
}
