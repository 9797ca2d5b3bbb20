import { z } from "@hono/zod-openapi";
import { ApiError } from "../errors.ts";

/** The one JSON error envelope every failure uses. */
export const ErrorSchema = z.object({
  error: z.string().openapi({ example: "Subsystem is required" }),
  code: z.enum([
    "validation_failed",
    "unauthorized",
    "forbidden",
    "not_found",
    "invalid_transition",
    "conflict",
    "precondition_failed",
    "payload_too_large",
    "unsupported_media_type",
    "range_not_satisfiable",
    "unprocessable",
    "rate_limited",
    "internal",
    "unavailable",
  ]),
  details: z.string().optional(),
  field: z.string().optional(),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  requestId: z.string().optional(),
}).passthrough().openapi("Error");

const errorResponse = (description: string) => ({
  content: { "application/json": { schema: ErrorSchema } },
  description,
});

/** Error responses shared by routes, keyed by status. */
export const errors = {
  400: errorResponse("Invalid input: malformed JSON, wrong type, out-of-range value"),
  401: errorResponse("No valid API key"),
  403: errorResponse("The key's role does not allow this"),
  429: errorResponse("Too many failed authentication attempts from this address"),
  404: errorResponse("No part with this id"),
  409: errorResponse("The action is not allowed in the part's stage, or someone else holds it"),
  413: errorResponse("Request body too large"),
  415: errorResponse("Request body is not JSON"),
} as const;

/** A JSON response with a schema. */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { content: { "application/json": { schema } }, description };
}

/** Path parameter `id`: digits only; anything else is answered with 404 by the validation hook. */
export const IdParams = z.object({
  id: z.string().regex(/^[0-9]{1,15}$/).openapi({
    param: { name: "id", in: "path" },
    type: "integer",
    example: 1,
  }),
});

export const MessageSchema = z.object({ message: z.string() }).openapi("Message");

/**
 * Code points no text input accepts: C0 controls other than tab, LF and CR, DEL and C1
 * controls. NUL in particular cannot round-trip: the database driver cuts text at it.
 */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

/** True when `text` is safe to store: no refused control character and no lone surrogate. */
export function isSafeText(text: string): boolean {
  return text.isWellFormed() && !CONTROL_CHARS.test(text);
}

/** The message for a field whose text is refused by `isSafeText`. */
export function unsafeTextMessage(field: string): string {
  return `${field} must not contain control characters (other than tab, LF and CR) or ` +
    "unpaired surrogates";
}

/** A string schema that refuses unsafe text (checked before any trim), naming the field. */
export function safeString(field: string, params?: Parameters<typeof z.string>[0]) {
  return z.string(params).refine(isSafeText, unsafeTextMessage(field));
}

/**
 * The path of the first key or string value inside a JSON value that `isSafeText` refuses,
 * or null. Iterative, so nesting depth cannot overflow the stack.
 */
export function findUnsafeText(value: unknown): (string | number)[] | null {
  type Node = { value: unknown; key: string | number | null; parent: Node | null };
  const pathOf = (node: Node | null): (string | number)[] => {
    const path: (string | number)[] = [];
    for (let n = node; n && n.key !== null; n = n.parent) path.unshift(n.key);
    return path;
  };
  const stack: Node[] = [{ value, key: null, parent: null }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const v = node.value;
    if (typeof v === "string") {
      if (!isSafeText(v)) return pathOf(node);
    } else if (Array.isArray(v)) {
      v.forEach((child, i) => stack.push({ value: child, key: i, parent: node }));
    } else if (typeof v === "object" && v !== null) {
      for (const [key, child] of Object.entries(v)) {
        // A bad key is reported at its parent: the key itself is not a usable name.
        if (!isSafeText(key)) return pathOf(node);
        stack.push({ value: child, key, parent: node });
      }
    }
  }
  return null;
}

/** An optional free-text query parameter of at most `max` characters, with safe text only. */
export function textQuery(name: string, max: number) {
  return z.preprocess(
    blankToUndefined,
    safeString(name).max(max, `${name} must be at most ${max} characters`).optional(),
  ).openapi({ type: "string", maxLength: max });
}

const strayPercent = (s: string) => s.replace(/%(?![0-9A-Fa-f]{2})/g, "%25");

/**
 * Refuses a query string whose parameters are not valid percent-encoded UTF-8 (e.g. `%FF`,
 * overlong `%C0%80`, an encoded surrogate): the router would pass such a value on undecoded,
 * silently searching for something else than was sent. A `%` not followed by two hex digits is
 * taken literally, as the router does.
 */
export function assertWellFormedQuery(url: string): void {
  const at = url.indexOf("?");
  if (at === -1 || url.indexOf("%", at) === -1) return;
  const end = url.indexOf("#", at);
  const query = url.slice(at + 1, end === -1 ? undefined : end);
  for (const pair of query.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const rawName = eq === -1 ? pair : pair.slice(0, eq);
    try {
      decodeURIComponent(strayPercent(rawName));
      decodeURIComponent(strayPercent(eq === -1 ? "" : pair.slice(eq + 1)));
    } catch {
      const field = /^[A-Za-z_]{1,40}$/.test(rawName) ? rawName : "query";
      const message = `${field} must be percent-encoded UTF-8`;
      throw new ApiError("validation_failed", message, {
        field,
        issues: [{ path: field, message }],
      });
    }
  }
}

/** Query strings send `?x=` for "no value": treat blank as absent. */
export const blankToUndefined = (v: unknown) => (v === "" ? undefined : v);

/** An optional whole-number query parameter in [min, max], with messages naming it. */
export function intQuery(name: string, min: number, max: number) {
  return z.preprocess(
    blankToUndefined,
    z.string().regex(/^[0-9]{1,15}$/, `${name} must be a whole number from ${min} to ${max}`)
      .transform(Number)
      .pipe(
        z.number().min(min, `${name} must be at least ${min}`)
          .max(max, `${name} must be at most ${max}`),
      )
      .optional(),
  ).openapi({ type: "integer", minimum: min, maximum: max });
}

/** An optional ISO-8601 timestamp query parameter, as ms since the epoch. */
export function timestampQuery(name: string) {
  return z.preprocess(
    blankToUndefined,
    z.iso.datetime({ offset: true, error: `${name} must be an ISO-8601 timestamp` })
      .transform((v) => Date.parse(v))
      .optional(),
  ).openapi({ type: "string", format: "date-time" });
}
