import { createRoute, z } from "@hono/zod-openapi";
import type { App, RouteContext } from "../context.ts";
import { access } from "./access.ts";
import { partEtag, toPart } from "../db/parts-repo.ts";
import { ifMatch } from "./conditional.ts";
import { cachedRead } from "./cached.ts";
import { type Category, type PartEdit, planEdit } from "../domain/workflow.ts";
import { checkHolderChange } from "../domain/claims.ts";
import { holderForbidden } from "./workflow.ts";
import { ApiError } from "../errors.ts";
import {
  assertWellFormedQuery,
  errors,
  IdParams,
  jsonResponse,
  MessageSchema,
} from "../schemas/common.ts";
import {
  CategoryListQuery,
  CategoryParams,
  ListQuery,
  PartCreateInput,
  PartListSchema,
  PartSchema,
  PartUpdateInput,
  SORT_KEYS,
} from "../schemas/parts.ts";

const tags = ["Parts"];

const listRoute = createRoute({
  method: "get",
  path: "/api/parts",
  operationId: "listParts",
  summary: "List parts with filters, search, sorting and paging",
  tags,
  ...access("viewer"),
  request: { query: ListQuery },
  responses: {
    200: jsonResponse(PartListSchema, "Matching parts and their total count"),
    400: errors[400],
    401: errors[401],
  },
});

const categoryListRoute = createRoute({
  method: "get",
  path: "/api/parts/categories/{category}",
  operationId: "listPartsInCategory",
  summary: "List the parts of one workflow stage",
  tags,
  ...access("viewer"),
  request: { params: CategoryParams, query: CategoryListQuery },
  responses: {
    200: jsonResponse(PartListSchema, "Parts in the stage"),
    400: errors[400],
    401: errors[401],
  },
});

const createPartRoute = createRoute({
  method: "post",
  path: "/api/parts",
  operationId: "createPart",
  summary: "Create a part (it starts in review)",
  tags,
  ...access("member"),
  request: {
    body: { content: { "application/json": { schema: PartCreateInput } }, required: true },
  },
  responses: {
    201: jsonResponse(PartSchema, "The created part"),
    400: errors[400],
    401: errors[401],
    403: errors[403],
    413: errors[413],
    415: errors[415],
  },
});

const getPartRoute = createRoute({
  method: "get",
  path: "/api/parts/{id}",
  operationId: "getPart",
  summary: "Get one part",
  tags,
  ...access("viewer"),
  request: { params: IdParams },
  responses: {
    200: jsonResponse(PartSchema, "The part"),
    401: errors[401],
    404: errors[404],
  },
});

const updatePartRoute = createRoute({
  method: "put",
  path: "/api/parts/{id}",
  operationId: "updatePart",
  summary: "Change some fields of a part (miscInfo is replaced whole)",
  tags,
  ...access("member"),
  request: {
    params: IdParams,
    body: { content: { "application/json": { schema: PartUpdateInput } }, required: true },
  },
  responses: {
    200: jsonResponse(PartSchema, "The updated part"),
    400: errors[400],
    401: errors[401],
    403: errors[403],
    404: errors[404],
    409: errors[409],
    413: errors[413],
    415: errors[415],
  },
});

const deletePartRoute = createRoute({
  method: "delete",
  path: "/api/parts/{id}",
  operationId: "deletePart",
  summary: "Delete a part",
  tags,
  ...access("lead"),
  request: { params: IdParams },
  responses: {
    200: jsonResponse(MessageSchema, "Deleted"),
    401: errors[401],
    403: errors[403],
    404: errors[404],
  },
});

type ListInput = z.infer<typeof CategoryListQuery> & { category?: Category };

/** The list envelope, with the parts array serialized by the database. */
async function listParts(ctx: RouteContext, q: ListInput): Promise<string> {
  const { json, total } = await ctx.repo.listJson({
    category: q.category,
    search: q.search,
    sortField: SORT_KEYS[q.sort_by ?? "created_at"],
    sortOrder: q.sort_order ?? "desc",
    limit: q.limit,
    offset: q.offset ?? 0,
  });
  return `{"parts":${json},"total":${total},"limit":${q.limit ?? null},"offset":${q.offset ?? 0}}`;
}

function rejectCategory(): never {
  throw new ApiError(
    "validation_failed",
    "category changes only through the workflow actions (approve, complete, revert)",
    {
      field: "category",
      issues: [{ path: "category", message: "use the workflow actions to change the stage" }],
    },
  );
}

/** Part CRUD and list routes. */
export function registerPartRoutes(app: App, ctx: RouteContext): void {
  app.openapi(listRoute, (c) => {
    assertWellFormedQuery(c.req.url);
    return cachedRead(c, ctx, async () => ({ json: await listParts(ctx, c.req.valid("query")) }));
  });

  app.openapi(categoryListRoute, (c) => {
    assertWellFormedQuery(c.req.url);
    const query = { ...c.req.valid("query"), category: c.req.valid("param").category };
    return cachedRead(c, ctx, async () => ({ json: await listParts(ctx, query) }));
  });

  app.openapi(createPartRoute, async (c) => {
    const { category, ...input } = c.req.valid("json");
    if (category !== undefined && category !== "review") rejectCategory();
    const principal = c.get("principal");
    const holder = checkHolderChange(principal, null, input.assigned ?? null);
    if (!holder.ok) throw holderForbidden(holder);
    const now = ctx.now();
    const row = await ctx.repo.insert({
      partId: input.partId,
      name: input.name ?? null,
      type: input.type ?? null,
      material: input.material,
      subsystem: input.subsystem,
      amount: input.amount ?? 1,
      assigned: holder.holder,
      status: input.status ?? "Pending",
      category: "review",
      notes: input.notes ?? null,
      file: input.file ?? null,
      onshapeUrl: input.onshapeUrl ?? null,
      claimedDate: input.claimedDate ?? null,
      miscInfo: input.miscInfo ?? null,
      createdAt: now,
      updatedAt: now,
    }, { name: principal.name, onBehalfOf: holder.onBehalfOf });
    c.header("ETag", partEtag(row));
    c.header("Location", `${ctx.config.basePath}/api/parts/${row.id}`);
    return c.json(toPart(row), 201);
  });

  app.openapi(getPartRoute, (c) => {
    const id = Number(c.req.valid("param").id);
    return cachedRead(c, ctx, async () => {
      const part = await ctx.repo.getJson(id);
      if (!part) throw new ApiError("not_found", "Part not found");
      return { json: part.json, etag: partEtag({ id, version: part.version }) };
    });
  });

  app.openapi(updatePartRoute, async (c) => {
    const id = Number(c.req.valid("param").id);
    const { category, ...edit } = c.req.valid("json");
    const checkVersion = ifMatch(c);
    const principal = c.get("principal");
    const result = await ctx.repo.mutate(
      id,
      (row) => {
        checkVersion?.(row);
        if (category !== undefined && category !== row.category) rejectCategory();
        const change = { ...edit } as PartEdit;
        let onBehalfOf: string | null = null;
        if (change.assigned !== undefined && (change.assigned ?? null) !== row.assigned) {
          // An edit of `assigned` claims or releases: the same rule as assign and unclaim.
          const verdict = checkHolderChange(principal, row.assigned, change.assigned ?? null);
          if (!verdict.ok) throw holderForbidden(verdict);
          change.assigned = verdict.holder;
          onBehalfOf = verdict.onBehalfOf;
        }
        return { patch: planEdit(row, change, ctx.now()), action: "updated", onBehalfOf };
      },
      ctx.now,
      { name: principal.name },
    );
    if (!result) throw new ApiError("not_found", "Part not found");
    c.header("ETag", partEtag(result.row));
    return c.json(toPart(result.row), 200);
  });

  app.openapi(deletePartRoute, async (c) => {
    const id = Number(c.req.valid("param").id);
    const actor = { name: c.get("principal").name };
    const checkVersion = ifMatch(c);
    let deleted: boolean;
    if (!checkVersion) {
      deleted = await ctx.repo.delete(id, actor, ctx.now());
    } else {
      // Delete only the version the client saw; a concurrent change makes it stale (412).
      const row = await ctx.repo.get(id);
      if (!row) throw new ApiError("not_found", "Part not found");
      checkVersion(row);
      deleted = await ctx.repo.delete(id, actor, ctx.now(), row.version);
      if (!deleted) {
        const now = await ctx.repo.get(id);
        if (now) checkVersion(now);
      }
    }
    if (!deleted) throw new ApiError("not_found", "Part not found");
    // The part is gone; its files follow. Should this fail, the next sweep finishes the job.
    await ctx.files.removePart(id).catch(() => {});
    return c.json({ message: "Part deleted successfully" }, 200);
  });
}
