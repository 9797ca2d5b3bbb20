/** Runs wrk with a Lua script and reads its summary; shared by the benchmarks. */

const DONE_LUA = `
done = function(summary, latency, requests)
  io.write(string.format('\\nJSON{"requests":%d,"bytes":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,"socket_errors":%d}\\n',
    summary.requests, summary.bytes, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end`;

/** What one wrk run measured. */
export interface WrkRun {
  rps: number;
  /** Response bytes per second, in MiB. */
  mibPerSecond: number;
  p50_ms: number;
  p99_ms: number;
  non2xx: number;
  errors: number;
}

export interface WrkOptions {
  url: string;
  /** Request setup in wrk's Lua (the summary hook is added). */
  lua: string;
  connections: number;
  seconds: number;
  /** Per-request timeout, seconds. */
  timeoutSeconds: number;
  /** A folder for the script file. */
  tmp: string;
}

/** One wrk run; throws with wrk's output when it printed no summary. */
export async function runWrk(o: WrkOptions): Promise<WrkRun> {
  const script = `${o.tmp}/wrk-${crypto.randomUUID()}.lua`;
  await Deno.writeTextFile(script, o.lua + DONE_LUA);
  const out = await new Deno.Command("wrk", {
    args: [
      `-t${Math.min(2, o.connections)}`,
      `-c${o.connections}`,
      `-d${o.seconds}s`,
      "--timeout",
      `${o.timeoutSeconds}s`,
      "-s",
      script,
      o.url,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(script);
  const text = new TextDecoder().decode(out.stdout);
  const json = text.match(/JSON(\{.*\})/);
  if (!json) throw new Error(`wrk failed: ${text}\n${new TextDecoder().decode(out.stderr)}`);
  const r = JSON.parse(json[1]);
  const s = r.duration_us / 1e6;
  return {
    rps: r.requests / s,
    mibPerSecond: r.bytes / (1024 * 1024) / s,
    p50_ms: r.p50_us / 1000,
    p99_ms: r.p99_us / 1000,
    non2xx: r.non2xx,
    errors: r.socket_errors,
  };
}
