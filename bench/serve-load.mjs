// The load client of bench/serve.mjs: one HTTPS (or plain HTTP) keep-alive agent, N requests in flight, bodies
// prebuilt by the caller (nothing is built inside the clock), for a fixed time or until the
// bodies run out. Measures throughput, latency percentiles, the server's memory (VmRSS sampled
// from /proc every 50 ms) and the CPU time the server and this client spent per request.
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { descendants, treeStats } from './proc.mjs';

/**
 * Sends one request on `agent` (HTTPS or plain HTTP, as the agent is); resolves { status, type (content-type), body (a Buffer) }, rejects
 * on a transport error or after 30 s.
 */
export function send(agent, { port, path, headers }, body) {
  return new Promise((resolve, reject) => {
    const req = (agent.protocol === 'http:' ? http : https).request(
      { host: '127.0.0.1', port, path, method: 'POST', agent, headers: { ...headers, 'content-length': body.length } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(30000, () => req.destroy(new Error(`no answer from 127.0.0.1:${port}${path} in 30 s`)));
    req.end(body);
  });
}

/**
 * A keep-alive agent for `server` ({ caPem, clientCert?, clientKey?, plain? }: the CA it trusts,
 * the client certificate it presents, if any; plain HTTP when `plain`), with at most `sockets`
 * connections.
 */
export const keepAliveAgent = (server, sockets) =>
  server.plain
    ? new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets })
    : new https.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets, ca: server.caPem, cert: server.clientCert, key: server.clientKey });

/** The q-quantile (0..1) of the first n values of a Float64Array, by sorting a copy. */
function quantiles(values, n, qs) {
  const s = values.slice(0, n).sort();
  return qs.map((q) => (n ? s[Math.min(n - 1, Math.floor(q * n))] : NaN));
}

/**
 * Drives `target` ({ name, port, path, headers, pid, expect(answer) → true when the answer of
 * send() is right }) with `bodies` (an array of Buffers, used in order; each is sent once) and `inFlight`
 * requests outstanding until `durationMs` has passed or the bodies are used up.
 *
 * Returns { count, errors, firstError, seconds, rate, p50, p99, max (ms), rssMax, rssEnd (bytes),
 * serverCpuUs, clientCpuUs (CPU µs per request), serverCpuShare, clientCpuShare (of one CPU),
 * limitedByBodies, tls }.
 */
export async function runLoad(agent, target, bodies, { inFlight, durationMs }) {
  const pids = [target.pid, ...descendants(target.pid)];
  const latencies = new Float64Array(bodies.length);
  let next = 0;
  let done = 0;
  let errors = 0;
  let firstError;
  let tls;
  let rssMax = 0;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, treeStats(pids).rss)), 50);
  const server0 = treeStats(pids);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  const worker = async () => {
    while (next < bodies.length && performance.now() < deadline) {
      const body = bodies[next++];
      const start = performance.now();
      try {
        const r = await send(agent, target, body);
        if (!target.expect(r)) throw new Error(`HTTP ${r.status}: ${r.body.toString().slice(0, 300)}`);
        latencies[done++] = performance.now() - start;
      } catch (e) {
        errors++;
        firstError ??= e.message;
        // A server that refuses everything would otherwise spin here at full speed.
        if (errors > 100 && errors > done) throw new Error(`${target.name}: more errors than answers; first: ${firstError}`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: inFlight }, worker));
  } finally {
    clearInterval(sampler);
  }
  const seconds = (performance.now() - t0) / 1000;
  const client = process.cpuUsage(client0);
  const server1 = treeStats(pids);
  rssMax = Math.max(rssMax, server1.rss);
  for (const sockets of Object.values(agent.sockets)) {
    const s = sockets?.[0];
    if (s?.getProtocol) tls = `${s.getProtocol()} ${s.getCipher()?.name ?? ''}`.trim();
  }
  const [p50, p99, max] = quantiles(latencies, done, [0.5, 0.99, 1]);
  const clientCpuMs = (client.user + client.system) / 1000;
  const serverCpuMs = server1.cpuMs - server0.cpuMs;
  return {
    count: done,
    errors,
    firstError,
    seconds,
    rate: done / seconds,
    p50,
    p99,
    max,
    rssMax,
    rssEnd: server1.rss,
    serverCpuUs: done ? (serverCpuMs * 1000) / done : NaN,
    clientCpuUs: done ? (clientCpuMs * 1000) / done : NaN,
    serverCpuShare: serverCpuMs / 1000 / seconds,
    clientCpuShare: clientCpuMs / 1000 / seconds,
    limitedByBodies: next >= bodies.length,
    tls,
  };
}
