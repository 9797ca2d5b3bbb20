import { z } from "@hono/zod-openapi";

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
