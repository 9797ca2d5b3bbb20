import { createRoute, z } from "@hono/zod-openapi";
import type { App, RouteContext } from "../context.ts";
import { ApiError } from "../errors.ts";
import { blobKey } from "../files/conversions.ts";
import { errors, jsonResponse } from "../schemas/common.ts";
import { access } from "./access.ts";

const tags = ["Conversions"];

const ShaParams = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "sha256 must be 64 lowercase hex digits").openapi({
    param: { name: "sha256", in: "path" },
  }),
});

const JobSchema = z.object({
  sha256: z.string(),
  format: z.enum(["step", "stl"]),
  attempts: z.number().int(),
  source: z.string().openapi({ description: "Path of the source file, relative to the API" }),
}).openapi("ConversionJob");

const claimRoute = createRoute({
  method: "post",
  path: "/api/conversions/claim",
  operationId: "claimConversion",
  summary: "Take the oldest waiting STEP/STL → GLB conversion (for the converter process)",
  tags,
  ...access("admin"),
  responses: {
    200: jsonResponse(z.object({ job: JobSchema.nullable() }), "A job, or null when none waits"),
    401: errors[401],
    403: errors[403],
  },
});

const sourceRoute = createRoute({
  method: "get",
  path: "/api/conversions/{sha256}/source",
  operationId: "getConversionSource",
  summary: "The source file of a conversion job",
  tags,
  ...access("admin"),
  request: { params: ShaParams },
  responses: {
    200: {
      content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } },
      description: "The file",
    },
    401: errors[401],
    403: errors[403],
    404: errors[404],
  },
});

const resultRoute = createRoute({
  method: "put",
  path: "/api/conversions/{sha256}/result",
  operationId: "putConversionResult",
  summary: "Deliver the GLB of a conversion job (body: model/gltf-binary)",
  tags,
  ...access("admin"),
  request: { params: ShaParams },
  responses: {
    200: jsonResponse(z.object({ status: z.literal("done") }), "Stored"),
    400: errors[400],
    401: errors[401],
    403: errors[403],
    404: errors[404],
    413: errors[413],
  },
});

const failureRoute = createRoute({
  method: "post",
  path: "/api/conversions/{sha256}/failure",
  operationId: "putConversionFailure",
  summary: "Report that a conversion job's file cannot be converted",
  tags,
  ...access("admin"),
  request: {
    params: ShaParams,
    body: {
      content: {
        "application/json": { schema: z.object({ error: z.string().min(1).max(2000) }) },
      },
      required: true,
    },
  },
  responses: {
    200: jsonResponse(z.object({ status: z.literal("failed") }), "Recorded"),
    400: errors[400],
    401: errors[401],
    403: errors[403],
    404: errors[404],
  },
});

/** The converter process's side of the conversion queue (Workers deployments). */
export function registerConversionRoutes(app: App, ctx: RouteContext): void {
  const conversions = ctx.files.conversions;
  const known = async (sha256: string) => {
    const row = await conversions.state(sha256);
    if (!row) throw new ApiError("not_found", "No such conversion");
    return row;
  };

  app.openapi(claimRoute, async (c) => {
    const job = await conversions.claimForRemote();
    return c.json({
      job: job
        ? {
          sha256: job.sha256,
          format: job.format,
          attempts: job.attempts,
          source: `/api/conversions/${job.sha256}/source`,
        }
        : null,
    }, 200);
  });

  app.openapi(sourceRoute, async (c) => {
    const { sha256 } = c.req.valid("param");
    await known(sha256);
    const blob = await ctx.files.store.get(blobKey(sha256));
    if (!blob) throw new ApiError("not_found", "The source file is missing from storage");
    return c.body(blob.body, 200, {
      "Content-Type": "application/octet-stream",
      "Content-Length": String(blob.size),
    });
  });

  app.openapi(resultRoute, async (c) => {
    const { sha256 } = c.req.valid("param");
    await known(sha256);
    const limit = ctx.config.maxUploadBytes * 4;
    const declared = Number(c.req.header("content-length"));
    if (Number.isFinite(declared) && declared > limit) {
      throw new ApiError("payload_too_large", `A model is at most ${limit} bytes`);
    }
    const glb = new Uint8Array(await c.req.arrayBuffer());
    if (glb.byteLength > limit) {
      throw new ApiError("payload_too_large", `A model is at most ${limit} bytes`);
    }
    // "glTF" magic, version 2, and the declared length.
    const view = new DataView(glb.buffer, glb.byteOffset, glb.byteLength);
    if (
      glb.byteLength < 20 || view.getUint32(0, true) !== 0x46546c67 ||
      view.getUint32(4, true) !== 2 || view.getUint32(8, true) !== glb.byteLength
    ) {
      throw new ApiError("validation_failed", "The body is not a binary glTF 2.0 file");
    }
    await conversions.complete(sha256, glb);
    return c.json({ status: "done" as const }, 200);
  });

  app.openapi(failureRoute, async (c) => {
    const { sha256 } = c.req.valid("param");
    await known(sha256);
    await conversions.fail(sha256, c.req.valid("json").error);
    return c.json({ status: "failed" as const }, 200);
  });
}
