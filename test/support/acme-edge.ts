import { resolve } from 'node:path';
import type { AcmeDirectory } from './acme-clients';
import { runTool, type AcmeTools } from './acme-tools';

/**
 * The protocol edge cases of test/support/acme_edge.py (the `acme` Python library plus JWS
 * built by hand) and what RFC 8555 says a server answers to each. The script observes, this
 * file judges: `edgeMismatches` lists every case whose answer differs from the expectation.
 */

export const ACME_EDGE_SCRIPT = resolve(__dirname, 'acme_edge.py');

export type EdgeCase =
  | 'replayed-nonce'
  | 'corrupted-signature'
  | 'foreign-key'
  | 'unknown-account'
  | 'only-return-existing'
  | 'finalize-not-ready'
  | 'csr-outside-order'
  | 'jws-algorithms';

/** One observed answer: HTTP status and the problem type without "urn:ietf:params:acme:error:". */
export interface EdgeAnswer {
  status: number;
  type: string;
  detail?: string;
}

/** One line of the script's output. */
export type EdgeResult = { case: EdgeCase; error?: string; results?: Record<string, EdgeAnswer> } & Partial<EdgeAnswer> & Record<string, unknown>;

/**
 * The HTTP status that goes with each problem type: RFC 8555 fixes 400 for badNonce (6.5) and
 * 403 for orderNotReady (7.4); the others are what Boulder, Pebble and step-ca answer.
 */
export const PROBLEM_STATUS: Record<string, number> = {
  badNonce: 400,
  malformed: 400,
  unauthorized: 403,
  accountDoesNotExist: 400,
  orderNotReady: 403,
  badCSR: 400,
  badSignatureAlgorithm: 400,
  rejectedIdentifier: 400,
};

/** Problem types a conforming server may answer per case (the first is the one certctl answers). */
export const ACME_EDGE_EXPECTED: Record<Exclude<EdgeCase, 'jws-algorithms'>, string[]> = {
  // 6.5: badNonce, and a fresh nonce in the answer's Replay-Nonce (checked separately below).
  'replayed-nonce': ['badNonce'],
  // 6.2: a JWS that does not verify is malformed (Boulder, Pebble) — unauthorized is also read so.
  'corrupted-signature': ['malformed', 'unauthorized'],
  'foreign-key': ['malformed', 'unauthorized'],
  'unknown-account': ['accountDoesNotExist'],
  // 7.3.1: onlyReturnExisting for a key without account.
  'only-return-existing': ['accountDoesNotExist'],
  'finalize-not-ready': ['orderNotReady'],
  // 7.4: a CSR that does not match the order. The issue asks certctl for badCSR; Boulder and
  // Pebble answer unauthorized (an override in their test).
  'csr-outside-order': ['badCSR'],
};

/** The JWS algorithms the issue asks newAccount to accept (201 each). */
export const ACME_JWS_ALGORITHMS = ['ES256', 'ES384', 'RS256', 'EdDSA'] as const;

/**
 * Runs acme_edge.py against `directory` (REQUESTS_CA_BUNDLE = its CA): the script answers
 * http-01 itself on 127.0.0.1:`http01Port`. Returns one result per case; throws with the
 * script's output when it prints no result at all (it could not even register an account).
 */
export async function runAcmeEdge(
  tools: AcmeTools,
  directory: AcmeDirectory,
  opts: { http01Port: number; domain?: string; cases?: EdgeCase[] },
): Promise<EdgeResult[]> {
  const args = [ACME_EDGE_SCRIPT, '--directory', directory.url, '--http01-port', String(opts.http01Port)];
  if (opts.domain) args.push('--domain', opts.domain);
  if (opts.cases) args.push('--cases', opts.cases.join(','));
  const r = await runTool(tools.python, args, { env: { REQUESTS_CA_BUNDLE: directory.caFile }, timeoutMs: 120000 });
  const results = r.output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as EdgeResult);
  if (results.length === 0) throw new Error(`acme_edge.py exited ${r.code} without a result:\n${r.output}`);
  return results;
}

/**
 * Every way `results` differ from the expectations (empty: all as expected), as readable lines
 * for `expect(...).toEqual([])`. `overrides` replace a case's allowed types (a reference server
 * that answers differently); `algorithms` maps an algorithm to the type expected instead of 201.
 */
export function edgeMismatches(
  results: EdgeResult[],
  overrides: Partial<Record<EdgeCase, string[]>> = {},
  algorithms: Partial<Record<(typeof ACME_JWS_ALGORITHMS)[number], string>> = {},
): string[] {
  const out: string[] = [];
  for (const r of results) {
    if (r.error) {
      out.push(`${r.case}: the script failed: ${r.error}`);
      continue;
    }
    if (r.case === 'jws-algorithms') {
      for (const alg of ACME_JWS_ALGORITHMS) {
        const a = r.results?.[alg];
        const want = algorithms[alg];
        const ok = want ? a?.type === want && a.status === PROBLEM_STATUS[want] : a?.status === 201;
        if (!ok) out.push(`jws-algorithms ${alg}: expected ${want ?? '201 Created'}, got ${JSON.stringify(a)}`);
      }
      continue;
    }
    const allowed = overrides[r.case] ?? ACME_EDGE_EXPECTED[r.case];
    if (!allowed.includes(r.type ?? '') || r.status !== PROBLEM_STATUS[r.type ?? '']) {
      out.push(
        `${r.case}: expected ${allowed.map((t) => `${PROBLEM_STATUS[t]} ${t}`).join(' or ')}, got ${r.status} ${r.type || '(no problem)'} ${r.detail ?? ''}`,
      );
    }
    if (r.case === 'replayed-nonce' && (r.firstStatus !== 200 || r.replayNonceIsNew !== true)) {
      out.push(`replayed-nonce: the first use must succeed (got ${String(r.firstStatus)}) and the badNonce answer carry a new Replay-Nonce`);
    }
    if (r.case === 'csr-outside-order' && r.thenIssued !== true) out.push('csr-outside-order: the order did not then finalize with the right CSR');
  }
  return out;
}
