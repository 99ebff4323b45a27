import { startBackground, httpRequest, type BackgroundServer } from './background';
import { freePort } from './tls-check';

/**
 * pebble-challtestsrv v2.10.3 as the DNS server of ACME tests: answers A queries for any name
 * with 127.0.0.1 (its default, so `*.acme.test` needs no /etc/hosts), no AAAA, and TXT records
 * set through its management API (dns-01). Its own challenge responders are off: the clients
 * under test answer http-01 and tls-alpn-01 themselves.
 */
export interface Challtestsrv extends BackgroundServer {
  /** host:port of its DNS server (UDP and TCP) on 127.0.0.1: certctl's `acme.dns_resolver`. */
  dnsAddress: string;
  /** Base URL of its management API (http://127.0.0.1:PORT). */
  managementUrl: string;
  /** The A answer for every name without its own record ('' = none). */
  setDefaultIPv4(ip: string): Promise<void>;
  /** A records for one host. */
  addA(host: string, addresses: string[]): Promise<void>;
  /** A TXT record (dns-01: host `_acme-challenge.<name>.`). */
  setTxt(host: string, value: string): Promise<void>;
  clearTxt(host: string): Promise<void>;
}

/** POSTs `body` to the management API's `path`; throws unless it answers 200. */
async function manage(base: string, path: string, body: unknown): Promise<void> {
  const r = await httpRequest(`${base}${path}`, 'POST', body);
  if (r.status !== 200) throw new Error(`challtestsrv ${path} answered ${r.status}: ${r.text}`);
}

/**
 * Starts challtestsrv on free 127.0.0.1 ports with its pid in `dir/challtestsrv.pid`. A port
 * taken between asking the kernel and binding it (UDP is not checked) makes it exit: retried.
 */
export async function startChalltestsrv(bin: string, dir: string): Promise<Challtestsrv> {
  for (let attempt = 1; ; attempt++) {
    const dnsPort = await freePort();
    const managementPort = await freePort();
    const managementUrl = `http://127.0.0.1:${managementPort}`;
    const args = ['-management', `127.0.0.1:${managementPort}`, '-dnsserver', `127.0.0.1:${dnsPort}`, '-defaultIPv6', ''];
    for (const off of ['-http01', '-https01', '-tlsalpn01', '-doh']) args.push(off, '');
    try {
      const server = await startBackground(dir, 'challtestsrv', bin, args, {
        ready: async () => (await httpRequest(`${managementUrl}/dns-request-history`, 'POST', { host: 'ready.test' })).status === 200,
      });
      return {
        ...server,
        dnsAddress: `127.0.0.1:${dnsPort}`,
        managementUrl,
        setDefaultIPv4: (ip) => manage(managementUrl, '/set-default-ipv4', { ip }),
        addA: (host, addresses) => manage(managementUrl, '/add-a', { host, addresses }),
        setTxt: (host, value) => manage(managementUrl, '/set-txt', { host, value }),
        clearTxt: (host) => manage(managementUrl, '/clear-txt', { host }),
      };
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}
