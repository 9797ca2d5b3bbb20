import type { App, RouteContext } from "../context.ts";
import { ApiError } from "../errors.ts";

/** Swagger UI files served from the swagger-ui-dist package, never from a CDN. */
const DOC_ASSETS: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
};

function docsPage(base: string, assetsAvailable: boolean): string {
  const spec = `${base}/api/openapi.json`;
  const fallback = `<main class="fallback">
  <h1>Part Management System API</h1>
  <p>${
    assetsAvailable
      ? "The interactive reference needs JavaScript."
      : "The interactive reference is not bundled with this deployment."
  }
  The full OpenAPI 3.1 document is at <a href="${spec}">${spec}</a>; open it in any OpenAPI tool.</p>
</main>`;
  if (!assetsAvailable) {
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Parts API reference</title></head><body>${fallback}</body></html>`;
  }
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Parts API reference</title>
  <link rel="stylesheet" href="${base}/api/docs/assets/swagger-ui.css">
</head>
<body>
  <noscript>${fallback}</noscript>
  <div id="swagger-ui" data-spec-url="${spec}"></div>
  <script src="${base}/api/docs/assets/swagger-ui-bundle.js"></script>
  <script src="${base}/api/docs/assets/init.js"></script>
</body>
</html>`;
}

const INIT_SCRIPT = `(() => {
  const el = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: el.dataset.specUrl,
    domNode: el,
    validatorUrl: null,
    deepLinking: true,
    persistAuthorization: true,
    tryItOutEnabled: true,
  });
})();
`;

/** The OpenAPI document and an interactive reference page that works offline. */
export function registerDocsRoutes(app: App, ctx: RouteContext): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "ApiKeyAuth", {
    type: "apiKey",
    in: "header",
    name: "X-API-Key",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "BearerAuth", {
    type: "http",
    scheme: "bearer",
  });
  let document: unknown;
  const base = ctx.config.basePath;

  app.get("/api/openapi.json", (c) => {
    document ??= app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: {
        title: "Part Management System API",
        version: "1.0.0",
        description:
          "Tracks every custom part of an FRC robot through review, CNC or hand fabrication, " +
          "claiming and completion. Routes under /api/parts need a key in X-API-Key or " +
          "Authorization: Bearer.",
      },
      tags: [
        { name: "Parts", description: "Create, read, change and delete parts" },
        { name: "Workflow", description: "Move parts through the fabrication stages" },
        { name: "Stats", description: "Counts and leaderboard" },
        { name: "History", description: "Part history, team activity and live updates" },
        { name: "Keys", description: "Per-person API keys (admin)" },
        {
          name: "Files",
          description: "STEP, STL and PDF files of parts, their revisions, 3D models and previews",
        },
        {
          name: "Conversions",
          description: "The STEP/STL → GLB queue, for the converter process (admin)",
        },
        { name: "System", description: "Health and key check" },
      ],
    });
    return c.json(document);
  });

  app.get("/api/docs", (c) => {
    c.header(
      "Content-Security-Policy",
      "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
        "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
        "form-action 'self'; frame-ancestors 'none'",
    );
    return c.html(docsPage(base, ctx.docsAssets !== undefined));
  });

  app.get("/api/docs/assets/:file", async (c) => {
    const file = c.req.param("file");
    if (file === "init.js") {
      return c.body(INIT_SCRIPT, 200, { "Content-Type": "text/javascript; charset=utf-8" });
    }
    const type = DOC_ASSETS[file];
    const bytes = type && ctx.docsAssets ? await ctx.docsAssets.read(file) : null;
    if (!bytes) throw new ApiError("not_found", `No docs asset named ${file}`);
    return c.body(bytes, 200, {
      "Content-Type": type,
      "Cache-Control": "public, max-age=86400",
    });
  });
}
