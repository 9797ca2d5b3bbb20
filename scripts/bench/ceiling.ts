/**
 * The ceiling: a bare Deno.serve handler with no framework and no database that answers every
 * request with the same bytes, captured from the real server for one scenario.
 * Usage: ceiling.ts <capture.json with {type, body}> <port>
 */
const [file, port] = Deno.args;
const captured: { type: string; body: string } = JSON.parse(await Deno.readTextFile(file));
const body = new TextEncoder().encode(captured.body);
const headers = { "content-type": captured.type };
Deno.serve(
  { port: Number(port), hostname: "127.0.0.1", onListen: () => console.log("ready") },
  () => new Response(body, { headers }),
);
