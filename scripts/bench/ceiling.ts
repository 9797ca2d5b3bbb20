/**
 * The ceiling: a bare Deno.serve handler with no framework and no database.
 *
 *   ceiling.ts <capture.json with {type, body}> <port>
 *     answers every request with the same bytes, captured from the real server for one scenario;
 *   ceiling.ts --file <path> <port>
 *     the files benchmark's ceiling: GET streams the file from disk, POST reads the whole body,
 *     discards it and answers 201.
 */
const ready = () => console.log("ready");

if (Deno.args[0] === "--file") {
  const [, path, port] = Deno.args;
  const size = String((await Deno.stat(path)).size);
  Deno.serve({ port: Number(port), hostname: "127.0.0.1", onListen: ready }, async (req) => {
    if (req.method === "POST") {
      let bytes = 0;
      for await (const chunk of req.body ?? []) bytes += chunk.byteLength;
      return Response.json({ size: bytes }, { status: 201 });
    }
    const file = await Deno.open(path);
    return new Response(file.readable, {
      headers: { "content-type": "application/octet-stream", "content-length": size },
    });
  });
} else {
  const [file, port] = Deno.args;
  const captured: { type: string; body: string } = JSON.parse(await Deno.readTextFile(file));
  const body = new TextEncoder().encode(captured.body);
  const headers = { "content-type": captured.type };
  Deno.serve(
    { port: Number(port), hostname: "127.0.0.1", onListen: ready },
    () => new Response(body, { headers }),
  );
}
