/**
 * The team frontend's CNC flow, end to end in headless Chromium against the real server: add a
 * CNC part with a STEP file, approve it, and show its card. The page (browser-page/) does what
 * the frontend does: fetch `/model`, load it with three.js's GLTFLoader (three from npm, served
 * by this test), render eight PNGs from a WebGL canvas, post them to `/views` and read them back.
 * A reload then shows the stored views without fetching the model or converting again; a hand
 * part's PDF shows inline in an iframe; a download gives the uploaded bytes back.
 *
 * Needs Debian's `chromium` (apt-get install -y chromium), or a browser at CHROMIUM_PATH. Without
 * it the test is skipped, unless REQUIRE_BROWSER=1, which makes it fail instead (CI).
 */
import { minimalPdf } from "./onshape-stand-in.ts";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { extname, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { chromium } from "playwright-core";
import { appMaintenance, createApp } from "../../src/app.ts";
import { denoProcessSpawner } from "../../src/cad/deno-process.ts";
import { createModelConverter } from "../../src/cad/pool.ts";
import type { ModelConverter } from "../../src/cad/types.ts";
import { openLibsql } from "../../src/db/client.ts";
import { createDiskStore } from "../../src/storage/disk.ts";
import { KEY, MIGRATIONS, testConfig, uniquePartId } from "../helpers.ts";

/** CHROMIUM_PATH, when set, is the only place looked at. */
const CANDIDATES = Deno.env.get("CHROMIUM_PATH")
  ? [Deno.env.get("CHROMIUM_PATH")!]
  : ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
const CHROMIUM = CANDIDATES.find((p) => existsSync(p));
const REQUIRE_BROWSER = Deno.env.get("REQUIRE_BROWSER") === "1";
const SKIPPED = " (skipped: chromium not installed — apt-get install chromium)";
const NAME = "CNC flow in headless Chromium: STEP upload, 3D preview, stored views, PDF, download";

const STEP_FIXTURE = fileURLToPath(
  new URL("../../../shared/fixtures/step/as1-oc-214.stp", import.meta.url),
);
const PAGE_DIR = fileURLToPath(new URL("./browser-page/", import.meta.url));
const THREE_DIR = fileURLToPath(new URL("../../node_modules/three/", import.meta.url));
const SCREENSHOT = "/tmp/browser-views.png";
/** Chromium's built-in PDF viewer (a component extension with this fixed id). */
const PDF_VIEWER = "chrome-extension://mhjfbmdgcfjbbpaeojofohoefgiehjai/";

/** The preview size and the clear colour (#1f232c at 95 % opacity) the page renders with. */
const VIEW_WIDTH = 800;
const VIEW_HEIGHT = 400;
const CLEAR_RGBA = [0x1f, 0x23, 0x2c, Math.round(0.95 * 255)];

const PAGE_FILES: Record<string, string> = { "index.html": "index.html", "app.js": "app.js" };
/** Only three's runtime modules are served: the build and the example modules. */
const THREE_ALLOWED = /^(build\/three\.(module|core)\.js|examples\/jsm\/[A-Za-z0-9_/]+\.js)$/;
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
};

const sha256Hex = (bytes: Uint8Array): string => bytesToHex(sha256(bytes));

/** The test page and three's modules, or null for anything else. */
async function pageFile(pathname: string): Promise<Response | null> {
  let file: string | undefined;
  if (pathname.startsWith("/__browser-test/page/")) {
    const name = PAGE_FILES[pathname.slice("/__browser-test/page/".length)];
    if (name) file = PAGE_DIR + name;
  } else if (pathname.startsWith("/__browser-test/three/")) {
    const rest = normalize(pathname.slice("/__browser-test/three/".length));
    if (THREE_ALLOWED.test(rest) && !rest.includes("..")) file = THREE_DIR + rest;
  }
  if (!file) {
    return pathname.startsWith("/__browser-test/") ? new Response(null, { status: 404 }) : null;
  }
  try {
    return new Response(await Deno.readFile(file), {
      headers: { "Content-Type": TYPES[extname(file)], "Cache-Control": "no-store" },
    });
  } catch {
    return new Response(null, { status: 404 });
  }
}

interface Served {
  origin: string;
  /** Every API request the server answered. */
  seen: { method: string; path: string; status: number }[];
  /** Conversions the converter was asked for. */
  conversions: () => number;
  /** Times the test page itself was loaded. */
  pageLoads: () => number;
  api(path: string): Promise<Response>;
  close(): Promise<void>;
}

/** The app as the Deno entry builds it (disk store, worker converter) on a loopback port. */
async function serve(): Promise<Served> {
  const config = testConfig();
  const database = await openLibsql({ url: config.databaseUrl, migrationsFolder: MIGRATIONS });
  const filesDir = await Deno.makeTempDir({ prefix: "browser-files-" });
  const real = createModelConverter({
    spawn: denoProcessSpawner(),
    concurrency: 1,
    timeoutMs: config.conversionTimeoutMs,
    maxBytes: config.maxUploadBytes,
  });
  let conversions = 0;
  let pageLoads = 0;
  const converter: ModelConverter = {
    convert(format, bytes) {
      conversions++;
      return real.convert(format, bytes);
    },
    close: () => real.close(),
  };
  const app = createApp({
    config,
    db: database.db,
    blobStore: createDiskStore(filesDir),
    converter,
    logError: (message, error) => console.error(message, error),
  });
  const seen: Served["seen"] = [];
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    async (request) => {
      const path = new URL(request.url).pathname;
      const page = await pageFile(path);
      if (path === "/__browser-test/page/index.html") pageLoads++;
      if (page) return page;
      const response = await app.fetch(request);
      seen.push({ method: request.method, path, status: response.status });
      return response;
    },
  );
  const origin = `http://127.0.0.1:${server.addr.port}`;
  return {
    origin,
    seen,
    conversions: () => conversions,
    pageLoads: () => pageLoads,
    api: (path) => fetch(origin + path, { headers: { "X-API-Key": KEY } }),
    async close() {
      await server.shutdown();
      await appMaintenance(app).close();
      await converter.close();
      database.close();
      await Deno.remove(filesDir, { recursive: true });
    },
  };
}

// What the page's functions resolve to (see browser-page/app.js).
interface PngReport {
  type: string;
  bytes: number;
  sha256: string;
  header: { width: number; height: number } | null;
  width: number;
  height: number;
  corner: number[];
  pixels: number;
  differing: number;
  colourBuckets: number;
}
interface MeshReport {
  positions: number;
  normals: number;
  unitNormals: number;
  triangles: number;
  colours: (string | null)[];
  materialTypes: (string | null)[];
}
interface Manifest {
  files: Record<string, { filename: string; timestamp: string }>;
  updated_at: string;
}
interface PartJson {
  id: number;
  partId: string;
  category: string;
  type: string | null;
  file: string | null;
}
interface AddReport {
  created: PartJson;
  upload: {
    filename: string;
    size: number;
    sha256: string;
    contentType: string;
    conversion?: { status: string };
  };
  part: PartJson;
}
interface RenderedCard {
  source: "rendered";
  modelType: string;
  glbBytes: number;
  glRenderer: string;
  model: { meshes: MeshReport[]; box: { empty: boolean; size: number[] } };
  posted: PngReport[];
  answer: { success: boolean; views: Manifest };
}
interface StoredCard {
  source: "stored";
  manifest: Manifest;
  stored: PngReport[];
}
interface Readback {
  manifest: { views: Manifest | null };
  images: (Partial<PngReport> & { status: number; contentType: string | null })[];
}
interface FileReport {
  status: number;
  contentType: string | null;
  disposition: string | null;
  etag?: string | null;
  blobType?: string;
  size?: number;
  sha256?: string;
  frameType?: string | null;
}

/** Checks one preview: a PNG of the canvas size, on the clear colour, with the model on it. */
function assertRenderedView(png: PngReport, what: string) {
  assert.equal(png.type, "image/png", `${what}: type`);
  assert.deepEqual(png.header, { width: VIEW_WIDTH, height: VIEW_HEIGHT }, `${what}: PNG IHDR`);
  assert.equal(png.width, VIEW_WIDTH, `${what}: decoded width`);
  assert.equal(png.height, VIEW_HEIGHT, `${what}: decoded height`);
  png.corner.forEach((v, i) =>
    assert.ok(Math.abs(v - CLEAR_RGBA[i]) <= 3, `${what}: corner ${png.corner} is the clear colour`)
  );
  const share = png.differing / png.pixels;
  // The model is scaled to fill the padded frame: a blank or nearly blank canvas fails here.
  assert.ok(share > 0.1, `${what}: only ${(share * 100).toFixed(2)} % of pixels show the model`);
  assert.ok(png.colourBuckets > 8, `${what}: ${png.colourBuckets} colours, not a shaded solid`);
}

async function runFlow() {
  const served = await serve();
  const scratch = await Deno.makeTempDir({ prefix: "browser-flow-" });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    timeout: 30_000,
    args: [
      // WebGL without a GPU: ANGLE over SwiftShader (software Vulkan).
      "--use-gl=angle",
      "--use-angle=swiftshader",
      "--enable-unsafe-swiftshader",
      "--ignore-gpu-blocklist",
      "--no-sandbox",
      "--disable-dev-shm-usage",
      // Offline: every host but the loopback test server fails to resolve.
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ],
  });
  try {
    const context = await browser.newContext({
      acceptDownloads: true,
      viewport: { width: 1680, height: 900 },
    });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const requested: string[] = [];
    const problems: string[] = [];
    page.on("request", (r) => requested.push(r.url()));
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()} ${m.location().url}`);
    });

    // The key travels in the fragment, which the browser never sends to the server.
    const key = encodeURIComponent(KEY);
    const pageUrl = `${served.origin}/__browser-test/page/index.html#key=${key}`;
    const open = async (reload = false) => {
      await (reload ? page.reload() : page.goto(pageUrl));
      await page.waitForFunction(() => (globalThis as { flow?: { ready?: boolean } }).flow?.ready);
    };
    type Flow = Record<string, (...args: unknown[]) => Promise<unknown>>;
    const call = <T>(fn: string, ...args: unknown[]): Promise<T> =>
      page.evaluate(
        ([fn, args]) =>
          ((globalThis as unknown as { flow: Flow }).flow[fn as string])(...(args as unknown[])),
        [fn, args] as const,
      ) as Promise<T>;
    const addPart = async (type: "cnc" | "hand", partId: string, file: string) => {
      await page.selectOption("#type", type);
      await page.fill("#part-id", partId);
      await page.fill("#name", type === "cnc" ? "Gearbox assembly" : "Bumper bracket");
      await page.fill("#material", "6061 aluminum");
      await page.fill("#subsystem", "Drivetrain");
      await page.setInputFiles("#file", file);
      await page.click("#add");
      return await call<AddReport>("added");
    };
    const modelRequests = () =>
      served.seen.filter((r) => r.method === "GET" && r.path.endsWith("/model")).length;

    await open();

    // 1. Add a CNC part with its STEP file (the add form: create, then upload `file`), approve it.
    const step = await Deno.readFile(STEP_FIXTURE);
    const stepSha = sha256Hex(step);
    const added = await addPart("cnc", uniquePartId("CNC"), STEP_FIXTURE);
    assert.equal(added.upload.filename, "as1-oc-214.stp");
    assert.equal(added.upload.size, step.byteLength);
    assert.equal(added.upload.sha256, stepSha, "the server hashed the bytes the browser sent");
    assert.equal(added.upload.contentType, "application/step");
    assert.ok(
      ["queued", "running", "done"].includes(added.upload.conversion?.status ?? ""),
      `conversion started: ${JSON.stringify(added.upload.conversion)}`,
    );
    assert.equal(added.part.file, "as1-oc-214.stp", "the part names its file (the card reads it)");
    assert.equal(added.part.category, "review");
    const id = added.part.id;
    const approved = await call<PartJson>("approve", id);
    assert.equal(approved.category, "cnc", "approved into the CNC tab");

    // 2. The CNC card has no stored views yet: it fetches /model, renders and posts eight views.
    const card = await call<RenderedCard | StoredCard>("showCncCard", id);
    assert.equal(card.source, "rendered", "a new part's card renders from the model");
    const rendered = card as RenderedCard;
    assert.equal(rendered.modelType, "model/gltf-binary");
    assert.ok(rendered.glbBytes > 1000, `GLB of ${rendered.glbBytes} bytes`);
    const { meshes, box } = rendered.model;
    assert.ok(meshes.length > 0, "GLTFLoader found meshes");
    for (const [i, m] of meshes.entries()) {
      assert.ok(m.positions > 0 && m.triangles > 0, `mesh ${i} has triangles`);
      assert.equal(m.normals, m.positions, `mesh ${i} has a normal per vertex`);
      assert.equal(m.unitNormals, m.normals, `mesh ${i}: every normal has unit length`);
      for (const colour of m.colours) {
        assert.match(colour ?? "", /^[0-9a-f]{6}$/, `mesh ${i} has a material with a colour`);
      }
    }
    const colours = new Set(meshes.flatMap((m) => m.colours));
    assert.ok(colours.size > 1, `the STEP file's colours reach the materials: ${[...colours]}`);
    assert.equal(box.empty, false, "the model has a bounding box");
    assert.ok(
      box.size.every((s) => Number.isFinite(s) && s > 0),
      `bounding box ${box.size} has volume`,
    );
    assert.equal(rendered.posted.length, 8);
    rendered.posted.forEach((png, i) => assertRenderedView(png, `rendered view ${i}`));
    const postedShas = rendered.posted.map((p) => p.sha256);
    assert.equal(new Set(postedShas).size, 8, "eight different camera angles, eight images");
    assert.equal(rendered.answer.success, true);
    assert.deepEqual(Object.keys(rendered.answer.views.files).sort(), [..."01234567"]);
    for (const [i, f] of Object.entries(rendered.answer.views.files)) {
      assert.equal(f.filename, `view_${i}.png`);
    }
    assert.equal(modelRequests(), 1);
    const conversionState = async () => {
      const listing = await (await served.api(`/api/parts/${id}/files`)).json() as {
        files: { slot: string; current: boolean; conversion?: { status: string } }[];
      };
      assert.equal(listing.files.length, 1, "one revision of the part's file");
      return listing.files[0].conversion?.status;
    };
    assert.equal(await conversionState(), "done");
    assert.equal(served.conversions(), 1, "one conversion for the card");

    // 3. Read the views back: the manifest lists eight, and each is the PNG that was posted.
    const back = await call<Readback>("readStoredViews", id);
    assert.deepEqual(Object.keys(back.manifest.views?.files ?? {}).sort(), [..."01234567"]);
    back.images.forEach((img, i) => {
      assert.equal(img.status, 200, `GET /views/${i}`);
      assert.equal(img.contentType, "image/png", `view ${i} content type`);
      assert.equal(img.sha256, postedShas[i], `view ${i} is byte for byte the posted PNG`);
      assertRenderedView(img as PngReport, `stored view ${i}`);
    });

    // 4. A reload: the card shows the stored views; the model is neither fetched nor converted.
    await open(true);
    assert.equal(served.pageLoads(), 2, "the reload loaded the page afresh");
    const reloaded = await call<RenderedCard | StoredCard>("showCncCard", id);
    assert.equal(reloaded.source, "stored", "after a reload the card shows the stored views");
    const stored = (reloaded as StoredCard).stored;
    assert.deepEqual(stored.map((s) => s.sha256), postedShas, "the same eight images");
    const shown = await page.$$eval(
      "#views img",
      // No DOM types in a Deno test: the elements are images, read through a structural type.
      (imgs) =>
        (imgs as unknown as { complete: boolean; naturalWidth: number; naturalHeight: number }[])
          .map((i) => [i.complete, i.naturalWidth, i.naturalHeight]),
    );
    assert.deepEqual(shown, Array(8).fill([true, VIEW_WIDTH, VIEW_HEIGHT]), "eight images shown");
    await page.locator("#views").screenshot({ path: SCREENSHOT });
    assert.equal(modelRequests(), 1, "the reload did not fetch /model");
    assert.equal(served.conversions(), 1, "the STEP file was converted once");
    assert.equal(await conversionState(), "done", "the conversion stays done");

    // 5. A hand part's drawing PDF shows inline in an iframe, from /file and from /drawing.
    // Chromium's own PDF viewer, when the build has it, draws the page inside the iframe: wait
    // until the frame shows white paper in the viewer's dark frame (an iframe that only loaded
    // is all white, an error page has no dark chrome).
    let pdfRendered = false;
    const waitForPdfPage = async () => {
      for (let attempt = 0; attempt < 40; attempt++) {
        const shot = await page.locator("#pdf-frame").screenshot();
        const shades = await call<{ white: number; dark: number }>(
          "shadesOf",
          shot.toString("base64"),
        );
        if (shades.white > 0.1 && shades.dark > 0.1) return true;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.fail("Chromium's PDF viewer opened but never showed the page");
    };
    const pdf = minimalPdf("Bumper bracket, rev A");
    const pdfPath = `${scratch}/bumper-bracket.pdf`;
    await Deno.writeFile(pdfPath, pdf);
    const pdfSha = sha256Hex(pdf);
    const hand = await addPart("hand", uniquePartId("HAND"), pdfPath);
    assert.equal(hand.upload.contentType, "application/pdf");
    assert.equal(hand.upload.conversion, undefined, "a PDF is not converted");
    const handId = hand.part.id;
    assert.equal((await call<PartJson>("approve", handId)).category, "hand");
    for (const route of ["file", "drawing"]) {
      const shownPdf = await call<FileReport>("showPdf", handId, route);
      assert.equal(shownPdf.status, 200, `/${route}`);
      assert.equal(shownPdf.contentType, "application/pdf", `/${route} content type`);
      assert.match(shownPdf.disposition ?? "", /^inline;\s*filename="bumper-bracket\.pdf"/);
      assert.equal(shownPdf.blobType, "application/pdf", "the iframe gets a PDF blob");
      assert.equal(shownPdf.sha256, pdfSha, `/${route} gives the uploaded PDF`);
      assert.equal(shownPdf.frameType, "application/pdf", "the iframe's document is the PDF");
      if (requested.some((u) => u.startsWith(PDF_VIEWER))) pdfRendered = await waitForPdfPage();
    }

    // 6. Download: the page fetches /download and saves it; the bytes are the uploaded ones.
    const [saved, report] = await Promise.all([
      page.waitForEvent("download"),
      call<FileReport>("download", id, "as1-oc-214.stp"),
    ]);
    assert.equal(report.status, 200);
    assert.equal(report.contentType, "application/step");
    assert.match(report.disposition ?? "", /^attachment;\s*filename="as1-oc-214\.stp"/);
    assert.equal(report.etag, `"${stepSha}"`);
    assert.equal(report.sha256, stepSha, "fetched bytes hash to the fixture's SHA-256");
    assert.equal(saved.suggestedFilename(), "as1-oc-214.stp");
    const savedPath = `${scratch}/download.stp`;
    await saved.saveAs(savedPath);
    assert.equal(sha256Hex(await Deno.readFile(savedPath)), stepSha, "saved file matches");

    // Everything the browser fetched over the network came from this server (the PDF viewer's
    // chrome:// and chrome-extension:// files are part of Chromium), and the page had no errors.
    const foreign = requested.filter((u) =>
      /^(https?|wss?):/i.test(u) && !u.startsWith(`${served.origin}/`)
    );
    assert.deepEqual(foreign, [], "no request left the test server");
    assert.ok(requested.some((u) => u.endsWith("/three/build/three.module.js")), "three loaded");
    assert.ok(requested.some((u) => u.endsWith("/loaders/GLTFLoader.js")), "GLTFLoader loaded");
    assert.deepEqual(problems, [], "no page errors");
    for (const r of served.seen) assert.ok(r.status < 500, `${r.method} ${r.path} → ${r.status}`);
    console.log(
      `  ${meshes.length} meshes, ${meshes.reduce((s, m) => s + m.triangles, 0)} triangles, ` +
        `GLB ${rendered.glbBytes} B, rendered by ${rendered.glRenderer}; views in ${SCREENSHOT}; ` +
        `PDF ${pdfRendered ? "drawn by Chromium's viewer" : "checked by type and bytes only"}`,
    );
  } finally {
    await browser.close();
    await served.close();
    await Deno.remove(scratch, { recursive: true });
  }
}

if (CHROMIUM) {
  Deno.test(NAME, runFlow);
} else if (REQUIRE_BROWSER) {
  Deno.test(`${NAME} (REQUIRE_BROWSER=1)`, () => {
    assert.fail(
      `REQUIRE_BROWSER=1 but no Chromium at ${CANDIDATES.join(", ")}: ` +
        "apt-get install -y chromium (or set CHROMIUM_PATH)",
    );
  });
} else {
  Deno.test({ name: `${NAME}${SKIPPED}`, ignore: true, fn() {} });
}
