import type { ZodError } from "zod";

/** The closed set of error codes and the HTTP status each one maps to. */
export const ERROR_STATUS = {
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  invalid_transition: 409,
  conflict: 409,
  precondition_failed: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  unprocessable: 422,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorIssue {
  path: string;
  message: string;
}

/** Extra members of an error body beyond `error` and `code`. */
export interface ErrorExtras {
  details?: string;
  field?: string;
  issues?: ErrorIssue[];
  /** Any further data a client can act on (e.g. the current part on 412). */
  [key: string]: unknown;
}

/** The one error type handlers throw; `onError` turns it into the JSON envelope. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: (typeof ERROR_STATUS)[ErrorCode];
  readonly extras: ErrorExtras;
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    message: string,
    extras: ErrorExtras = {},
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.extras = extras;
    this.headers = headers;
  }
}

/** Converts zod issues into `{path, message}` pairs with dotted paths. */
export function zodIssues(error: ZodError): ErrorIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join("."),
    message: issue.message,
  }));
}

/**
 * A 400 `validation_failed` error built from a zod error. The message always names the first
 * bad field: the schemas' own messages do, and any other gets the field put in front.
 */
export function validationError(error: ZodError): ApiError {
  const issues = zodIssues(error);
  const first = issues[0] ?? { path: "", message: "Invalid request" };
  const named = !first.path || first.message.toLowerCase().includes(first.path.toLowerCase());
  const message = named ? first.message : `${first.path}: ${first.message}`;
  return new ApiError("validation_failed", message, {
    ...(first.path ? { field: first.path } : {}),
    issues,
  });
}
