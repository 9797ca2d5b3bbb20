/** The request context shared by the app and its route modules. */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Principal } from "./auth.ts";
import type { ResponseCache } from "./cache.ts";
import type { Config } from "./config.ts";
import type { EventsRepo } from "./db/events-repo.ts";
import type { FilesRepo } from "./db/files-repo.ts";
import type { KeysRepo } from "./db/keys-repo.ts";
import type { PartsRepo } from "./db/parts-repo.ts";
import type { FilesService } from "./files/service.ts";
import type { OnshapeClient } from "./files/onshape.ts";
import type { ChangeSignal } from "./live.ts";

/** Reads files by relative path; supplied by each runtime's entry (or absent). */
export interface AssetSource {
  read(path: string): Promise<Uint8Array<ArrayBuffer> | null>;
}

export interface AppEnv {
  Variables: { requestId: string; principal: Principal };
}

export type App = OpenAPIHono<AppEnv>;

/** Context shared by the route modules. */
export interface RouteContext {
  repo: PartsRepo;
  keys: KeysRepo;
  events: EventsRepo;
  /** Live streams: the change signal, how often to read the log and to re-check the key. */
  live: { signal: ChangeSignal; pollMs: number; heartbeatMs: number; keyCheckMs: number };
  cache: ResponseCache;
  now: () => number;
  config: Config;
  docsAssets?: AssetSource;
  staticFiles?: AssetSource;
  fileRows: FilesRepo;
  files: FilesService;
  /** The Onshape API client, when its keys are configured. */
  onshape?: OnshapeClient;
}
