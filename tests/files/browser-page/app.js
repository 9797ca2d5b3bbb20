// The CNC flow as the team's frontend runs it, reduced to what tests/files/browser.test.ts drives:
// add a part with its file, approve it, show its card (stored views, or render eight views from
// the GLB and post them), show a PDF inline, download the file. Every step resolves to a plain
// report object the test asserts on.

/** Size of each preview image, and the clear colour behind the model (as the frontend uses). */
const WIDTH = 800;
const HEIGHT = 400;
const PADDING = 20;
const CLEAR_HEX = 0x1f232c;
const CLEAR_ALPHA = 0.95;
const VIEW_COUNT = 8;

const key = new URLSearchParams(location.hash.slice(1)).get("key") ?? "";
const status = document.getElementById("status");

function headers(extra = {}) {
  return key ? { "X-API-Key": key, ...extra } : { ...extra };
}

async function api(path, init = {}) {
  return await fetch(`/api${path}`, { ...init, headers: headers(init.headers) });
}

async function json(path, init = {}) {
  const response = await api(path, init);
  const body = response.headers.get("content-type")?.includes("application/json")
    ? await response.json()
    : null;
  if (!response.ok) {
    throw new Error(`${init.method ?? "GET"} ${path}: ${response.status} ${JSON.stringify(body)}`);
  }
  return body;
}

const postJson = (path, body) =>
  json(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });

async function sha256Hex(buffer) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", buffer));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Width and height from a PNG's IHDR chunk, or null when the bytes are not a PNG. */
function pngSize(bytes) {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 24 || signature.some((b, i) => bytes[i] !== b)) return null;
  const ihdr = String.fromCharCode(...bytes.subarray(12, 16));
  if (ihdr !== "IHDR") return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/**
 * Decodes a PNG and counts the pixels that are not the background. The background is read from
 * the image's corner (the model is framed with padding, so the corner is always clear).
 */
async function inspectPng(blob) {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const header = pngSize(bytes);
  const bitmap = await createImageBitmap(blob);
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const g = canvas.getContext("2d");
  g.drawImage(bitmap, 0, 0);
  const { data } = g.getImageData(0, 0, bitmap.width, bitmap.height);
  const corner = [data[0], data[1], data[2], data[3]];
  let differing = 0;
  const colours = new Set();
  for (let i = 0; i < data.length; i += 4) {
    const d = Math.abs(data[i] - corner[0]) + Math.abs(data[i + 1] - corner[1]) +
      Math.abs(data[i + 2] - corner[2]) + Math.abs(data[i + 3] - corner[3]);
    if (d > 24) {
      differing++;
      // Coarse buckets: shading of a lit solid gives many, a flat blot gives one or two.
      colours.add(((data[i] >> 4) << 8) | ((data[i + 1] >> 4) << 4) | (data[i + 2] >> 4));
    }
  }
  return {
    type: blob.type,
    bytes: bytes.length,
    sha256: await sha256Hex(bytes),
    header,
    width: bitmap.width,
    height: bitmap.height,
    corner,
    pixels: bitmap.width * bitmap.height,
    differing,
    colourBuckets: colours.size,
  };
}

function setStatus(text) {
  status.textContent = text;
}

function showImages(urls) {
  const grid = document.getElementById("views");
  grid.replaceChildren();
  const loads = urls.map((url, i) => {
    const img = document.createElement("img");
    img.alt = `View ${i + 1}/${VIEW_COUNT}`;
    img.src = url;
    grid.append(img);
    return img.decode();
  });
  return Promise.all(loads);
}

/** The add-part form: create the part, then upload its file as the multipart field `file`. */
async function submitAddForm() {
  const value = (id) => document.getElementById(id).value.trim();
  const type = value("type");
  const file = document.getElementById("file").files[0];
  const body = {
    type,
    partId: value("part-id"),
    name: value("name"),
    material: value("material"),
    subsystem: value("subsystem"),
    amount: 1,
  };
  if (type === "cnc" && file) body.file = file.name;
  const created = await postJson("/parts", body);
  let upload = null;
  if (file) {
    const form = new FormData();
    form.append("file", file);
    upload = await json(`/parts/${created.id}/upload`, { method: "POST", body: form });
  }
  const part = await json(`/parts/${created.id}`);
  setStatus(`added ${part.partId}`);
  return { created, upload, part };
}

let pendingAdd = null;
document.getElementById("add-form").addEventListener("submit", (event) => {
  event.preventDefault();
  pendingAdd = submitAddForm();
});

/** Loads the GLB and describes what GLTFLoader made of it. */
function describeModel(THREE, scene) {
  const meshes = [];
  scene.traverse((node) => {
    if (!node.isMesh) return;
    const geometry = node.geometry;
    const position = geometry.getAttribute("position");
    const normal = geometry.getAttribute("normal");
    const materials = Array.isArray(node.material) ? node.material : [node.material];
    let unitNormals = 0;
    if (normal) {
      for (let i = 0; i < normal.count; i++) {
        const length = Math.hypot(normal.getX(i), normal.getY(i), normal.getZ(i));
        if (Math.abs(length - 1) < 0.01) unitNormals++;
      }
    }
    meshes.push({
      positions: position?.count ?? 0,
      normals: normal?.count ?? 0,
      unitNormals,
      triangles: geometry.index ? geometry.index.count / 3 : (position?.count ?? 0) / 3,
      colours: materials.map((m) => (m?.color?.isColor ? m.color.getHexString() : null)),
      materialTypes: materials.map((m) => m?.type ?? null),
    });
  });
  const box = new THREE.Box3().setFromObject(scene);
  const size = box.getSize(new THREE.Vector3());
  return { meshes, box: { empty: box.isEmpty(), size: [size.x, size.y, size.z] } };
}

/** Renders the eight preview images around the model, the way the frontend's viewer does. */
async function renderViews(THREE, model) {
  const box = new THREE.Box3().setFromObject(model);
  const center = box.getCenter(new THREE.Vector3());
  const size = box.getSize(new THREE.Vector3());
  const largest = Math.max(size.x, size.y, size.z);
  const scale = largest > 0 ? 2 / largest : 1;
  model.scale.multiplyScalar(scale);
  model.position.sub(center.multiplyScalar(scale));

  const scene = new THREE.Scene();
  scene.add(model);
  scene.add(new THREE.AmbientLight(0xffffff, 2));
  const sun = new THREE.DirectionalLight(0xffffff, 6);
  sun.position.set(5, 5, 5);
  scene.add(sun);

  const renderer = new THREE.WebGLRenderer({
    antialias: true,
    alpha: true,
    preserveDrawingBuffer: true,
  });
  renderer.setPixelRatio(1);
  renderer.setSize(WIDTH, HEIGHT);
  renderer.setClearColor(CLEAR_HEX, CLEAR_ALPHA);

  // One distance for all eight views (so stepping through them looks like turning the part), the
  // nearest at which every corner of the model's box lands inside the padded frame in each view.
  const camera = new THREE.PerspectiveCamera(50, WIDTH / HEIGHT, 0.01, 100);
  const tanV = Math.tan(THREE.MathUtils.degToRad(camera.fov / 2)) * (HEIGHT - 2 * PADDING) / HEIGHT;
  const tanH = Math.tan(THREE.MathUtils.degToRad(camera.fov / 2)) * camera.aspect *
    (WIDTH - 2 * PADDING) / WIDTH;
  const half = size.clone().multiplyScalar(scale / 2);
  const angles = Array.from({ length: VIEW_COUNT }, (_, i) => (i * Math.PI) / 4);
  let distance = 0;
  for (const angle of angles) {
    const [s, c] = [Math.sin(angle), Math.cos(angle)];
    for (const x of [-half.x, half.x]) {
      for (const y of [-half.y, half.y]) {
        for (const z of [-half.z, half.z]) {
          const towardCamera = x * s + z * c;
          const across = Math.abs(x * c - z * s);
          distance = Math.max(
            distance,
            towardCamera + across / tanH,
            towardCamera + Math.abs(y) / tanV,
          );
        }
      }
    }
  }

  const blobs = [];
  for (const [i, angle] of angles.entries()) {
    // Front, front-right, right, … around the vertical axis, 45° apart.
    camera.position.set(Math.sin(angle) * distance, 0, Math.cos(angle) * distance);
    camera.lookAt(0, 0, 0);
    renderer.render(scene, camera);
    const blob = await new Promise((resolve) => renderer.domElement.toBlob(resolve, "image/png"));
    if (!blob) throw new Error(`view ${i}: toBlob gave nothing`);
    blobs.push(blob);
  }
  const gl = renderer.getContext();
  const debug = gl.getExtension("WEBGL_debug_renderer_info");
  const glRenderer = gl.getParameter(debug ? debug.UNMASKED_RENDERER_WEBGL : gl.RENDERER);
  renderer.dispose();
  return { blobs, glRenderer };
}

/**
 * A CNC card's preview: the stored views when the server has them; otherwise fetch `/model`,
 * load it with GLTFLoader, render eight PNGs and post them to `/views`.
 */
async function showCncCard(partId) {
  const { views } = await json(`/parts/${partId}/views`);
  if (views?.files && Object.keys(views.files).length > 0) {
    const urls = [];
    const stored = [];
    for (let i = 0; i < VIEW_COUNT; i++) {
      const response = await api(`/parts/${partId}/views/${i}`);
      if (!response.ok) throw new Error(`view ${i}: ${response.status}`);
      const blob = await response.blob();
      stored.push(await inspectPng(blob));
      urls.push(URL.createObjectURL(blob));
    }
    await showImages(urls);
    setStatus("showing stored views");
    return { source: "stored", manifest: views, stored };
  }

  const modelResponse = await api(`/parts/${partId}/model`);
  if (!modelResponse.ok) {
    throw new Error(`model: ${modelResponse.status} ${await modelResponse.text()}`);
  }
  const modelType = modelResponse.headers.get("content-type");
  const glbBlob = await modelResponse.blob();
  const modelUrl = URL.createObjectURL(glbBlob);

  const [THREE, { GLTFLoader }] = await Promise.all([
    import("three"),
    import("three/examples/jsm/loaders/GLTFLoader.js"),
  ]);
  const gltf = await new GLTFLoader().loadAsync(modelUrl);
  const model = describeModel(THREE, gltf.scene);
  const { blobs, glRenderer } = await renderViews(THREE, gltf.scene);

  const form = new FormData();
  const posted = [];
  blobs.forEach((blob, i) => form.append(`view_${i}`, blob, `view_${i}.png`));
  for (const blob of blobs) posted.push(await inspectPng(blob));
  await showImages(blobs.map((b) => URL.createObjectURL(b)));
  const answer = await json(`/parts/${partId}/views`, { method: "POST", body: form });
  setStatus("rendered and posted views");
  return {
    source: "rendered",
    modelType,
    glbBytes: glbBlob.size,
    glRenderer,
    model,
    posted,
    answer,
  };
}

/** Reads the stored views back the way a later visit would: manifest, then each image. */
async function readStoredViews(partId) {
  const manifest = await json(`/parts/${partId}/views`);
  const images = [];
  for (let i = 0; i < VIEW_COUNT; i++) {
    const response = await api(`/parts/${partId}/views/${i}`);
    images.push({
      status: response.status,
      contentType: response.headers.get("content-type"),
      ...(response.ok ? await inspectPng(await response.blob()) : {}),
    });
  }
  return { manifest, images };
}

/** A PDF shown inline the way the CNC card and the drawing viewer do: fetched, as a blob URL. */
async function showPdf(partId, route = "file") {
  const response = await api(`/parts/${partId}/${route}`);
  const report = {
    status: response.status,
    contentType: response.headers.get("content-type"),
    disposition: response.headers.get("content-disposition"),
  };
  if (!response.ok) return report;
  const blob = await response.blob();
  const frame = document.getElementById("pdf-frame");
  const loaded = new Promise((resolve) => frame.addEventListener("load", resolve, { once: true }));
  frame.src = URL.createObjectURL(blob);
  await loaded;
  let frameType = null;
  try {
    frameType = frame.contentDocument?.contentType ?? null;
  } catch {
    // A PDF viewer may isolate its document; the type then stays unknown.
  }
  return {
    ...report,
    blobType: blob.type,
    size: blob.size,
    sha256: await sha256Hex(await blob.arrayBuffer()),
    frameType,
  };
}

/** The download button: fetch `/download`, then save it through a temporary link. */
async function download(partId, filename) {
  const response = await api(`/parts/${partId}/download`);
  const report = {
    status: response.status,
    contentType: response.headers.get("content-type"),
    disposition: response.headers.get("content-disposition"),
    etag: response.headers.get("etag"),
  };
  if (!response.ok) return report;
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  // The click has handed the blob to the download by the next task.
  setTimeout(() => URL.revokeObjectURL(url), 0);
  return { ...report, size: blob.size, sha256: await sha256Hex(await blob.arrayBuffer()) };
}

/** Shares of near-white and dark pixels in a PNG (base64): paper and viewer chrome of a PDF. */
async function shadesOf(base64) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const g = canvas.getContext("2d");
  g.drawImage(bitmap, 0, 0);
  const { data } = g.getImageData(0, 0, bitmap.width, bitmap.height);
  let white = 0;
  let dark = 0;
  for (let i = 0; i < data.length; i += 4) {
    const light = (data[i] + data[i + 1] + data[i + 2]) / 3;
    if (light > 245) white++;
    else if (light < 80) dark++;
  }
  const pixels = bitmap.width * bitmap.height;
  return { white: white / pixels, dark: dark / pixels };
}

globalThis.flow = {
  /** The promise of the last form submission. */
  added: () => pendingAdd,
  approve: (partId) => postJson(`/parts/${partId}/approve`, {}),
  showCncCard,
  readStoredViews,
  showPdf,
  download,
  shadesOf,
  ready: true,
};
