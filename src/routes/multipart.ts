/**
 * Reading multipart uploads without buffering the request: parts are parsed as the body
 * arrives and a file past its limit ends the request with 413 right there.
 */
import {
  getMultipartBoundary,
  MaxFileSizeExceededError,
  MaxHeaderSizeExceededError,
  MaxPartsExceededError,
  MaxTotalSizeExceededError,
  MultipartParseError,
  parseMultipartStream,
} from "@remix-run/multipart-parser";
import type { Context } from "hono";
import type { AppEnv } from "../context.ts";
import { ApiError } from "../errors.ts";

/** One field of a multipart body: a file (with its name as sent) or a text value. */
export interface FormPart {
  name: string;
  /** The file name as the client sent it (untrusted), or undefined for a text field. */
  filename: string | undefined;
  content: Uint8Array[];
  size: number;
}

export interface MultipartLimits {
  /** Largest single part, in bytes. */
  maxPartBytes: number;
  /** Most parts accepted. */
  maxParts: number;
  /** Only parts with these names are kept (others are read past and dropped). */
  keep: (name: string) => boolean;
}

const tooLarge = (bytes: number) =>
  new ApiError("payload_too_large", `File is larger than ${bytes} bytes`, {
    details: `The largest accepted file is ${bytes} bytes (MAX_UPLOAD_BYTES)`,
  });

/** Parses a multipart/form-data request into its kept parts, or throws a 4xx ApiError. */
export async function readMultipart(
  c: Context<AppEnv>,
  limits: MultipartLimits,
  missing: string,
): Promise<FormPart[]> {
  const type = c.req.header("content-type") ?? "";
  if (!/^multipart\/form-data\s*;/i.test(type) || !/boundary=/i.test(type)) {
    throw new ApiError("validation_failed", missing, {
      details: "Send the file as multipart/form-data",
    });
  }
  // Media types are case-insensitive; the parser's own request check is not.
  const boundary = getMultipartBoundary(
    type.replace(/^multipart\/form-data/i, "multipart/form-data"),
  );
  const body = c.req.raw.body;
  if (!boundary || !body) {
    throw new ApiError("validation_failed", missing, {
      details: "Send the file as multipart/form-data",
    });
  }
  const declared = Number(c.req.header("content-length"));
  // Part headers and boundaries add a little to the file itself.
  const maxTotal = limits.maxPartBytes * Math.min(limits.maxParts, 8) + 64 * 1024;
  if (Number.isFinite(declared) && declared > maxTotal) throw tooLarge(limits.maxPartBytes);
  const kept: FormPart[] = [];
  try {
    for await (
      const part of parseMultipartStream(body, {
        boundary,
        maxFileSize: limits.maxPartBytes,
        maxParts: limits.maxParts + 16,
        maxTotalSize: maxTotal,
        maxHeaderSize: 8 * 1024,
      })
    ) {
      const name = part.name ?? "";
      if (!limits.keep(name)) continue;
      kept.push({ name, filename: part.filename, content: part.content, size: part.size });
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    if (err instanceof MaxFileSizeExceededError || err instanceof MaxTotalSizeExceededError) {
      throw tooLarge(limits.maxPartBytes);
    }
    if (err instanceof MaxPartsExceededError) {
      throw new ApiError("validation_failed", "Too many fields in the multipart body");
    }
    if (err instanceof MaxHeaderSizeExceededError || err instanceof MultipartParseError) {
      throw new ApiError("validation_failed", "Malformed multipart body", {
        details: err.message,
      });
    }
    if (err instanceof ApiError) throw err;
    // A body that ends early or a stream error: the client's request is at fault.
    if (err instanceof TypeError || (err as Error)?.name === "BodyLimitError") {
      throw new ApiError("validation_failed", "Malformed multipart body", {
        details: "The request body ended before the multipart message did",
      });
    }
    throw err;
  }
  return kept;
}
