#!/usr/bin/env node
// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self and inclusive time per function,
// with positions in dist/certctl.js mapped back to src/ or node_modules/ through the bundle's
// source map, plus self time per source file.
//
//   node bench/profile-summary.mjs PROFILE.cpuprofile [--top 25] [--map dist/certctl.js.map]
import { readFileSync, existsSync } from 'node:fs';
import { resolve, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const B64 = Object.fromEntries([...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].map((c, i) => [c, i]));

/** Decodes a source map's mappings into per-generated-line sorted [col, sourceIndex, line] arrays. */
function decodeMap(map) {
  const lines = [];
  // The fourth field (source column) is decoded but not kept: summaries name lines only.
  let src = 0,
    srcLine = 0;
  for (const lineText of map.mappings.split(';')) {
    const segs = [];
    let col = 0;
    if (lineText) {
      for (const seg of lineText.split(',')) {
        const vals = [];
        let value = 0,
          shift = 0;
        for (const ch of seg) {
          const d = B64[ch];
          value += (d & 31) << shift;
          if (d & 32) shift += 5;
          else {
            vals.push(value & 1 ? -(value >>> 1) : value >>> 1);
            value = 0;
            shift = 0;
          }
        }
        col += vals[0];
        if (vals.length >= 4) {
          src += vals[1];
          srcLine += vals[2];
          segs.push([col, src, srcLine]);
        }
      }
    }
    lines.push(segs);
  }
  return lines;
}

/** Loads a source-map lookup for the bundle: (line0, col0) → "src/x.ts:LINE". */
export function loadMapper(mapPath) {
  if (!mapPath || !existsSync(mapPath)) return () => undefined;
  const map = JSON.parse(readFileSync(mapPath, 'utf8'));
  const lines = decodeMap(map);
  const base = dirname(mapPath);
  const sources = map.sources.map((s) => relative(process.cwd(), resolve(base, s)));
  return (line, col) => {
    const segs = lines[line];
    if (!segs || segs.length === 0) return undefined;
    let lo = 0,
      hi = segs.length - 1,
      best = segs[0];
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (segs[mid][0] <= col) {
        best = segs[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return { file: sources[best[1]], line: best[2] + 1 };
  };
}

/** Summarises a profile object; returns { totalMs, byFunction, byFile, categories }. */
export function summarise(profile, mapper) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map();
  const deltas = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = deltas[i + 1] ?? 0; // the time until the next sample belongs to this one
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + dt);
  }
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const where = (cf) => {
    if (!cf.url) return { file: cf.functionName ? '(native)' : `(${cf.functionName || 'program'})`, line: 0 };
    if (cf.url.endsWith('dist/certctl.js')) {
      // The module wrapper itself (all top-level code of the bundle) starts at 0:0.
      if (cf.lineNumber === 0 && cf.columnNumber === 0) return { file: 'dist/certctl.js (bundle top level)', line: 0 };
      const m = mapper(cf.lineNumber, cf.columnNumber);
      if (m) return m;
    }
    return { file: cf.url.replace(/^file:\/\//, '').replace(/^node:/, 'node:'), line: cf.lineNumber + 1 };
  };
  const key = (n) => {
    const w = where(n.callFrame);
    return `${n.callFrame.functionName || '(anonymous)'}  ${w.file}${w.line ? `:${w.line}` : ''}`;
  };
  const byFunction = new Map();
  const byFile = new Map();
  const incl = new Map();
  for (const [id, us] of selfUs) {
    const n = nodes.get(id);
    const k = key(n);
    byFunction.set(k, (byFunction.get(k) ?? 0) + us);
    const f = where(n.callFrame).file.replace(/^.*node_modules\/((?:@[^/]+\/)?[^/]+).*/, 'node_modules/$1');
    byFile.set(f, (byFile.get(f) ?? 0) + us);
    // Inclusive: charge every distinct ancestor function once.
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const ck = key(nodes.get(cur));
      if (seen.has(ck)) continue;
      seen.add(ck);
      incl.set(ck, (incl.get(ck) ?? 0) + us);
    }
  }
  const sort = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]).map(([k, us]) => [k, us / 1000]);
  return { totalMs: totalUs / 1000, byFunction: sort(byFunction), byFile: sort(byFile), inclusive: sort(incl) };
}

/** Renders a summary as text. */
export function render(s, top = 25) {
  const pct = (ms) => `${ms.toFixed(1).padStart(8)} ms ${((100 * ms) / s.totalMs).toFixed(1).padStart(5)}%`;
  const out = [`total sampled: ${s.totalMs.toFixed(1)} ms`, '', 'self time by function:'];
  for (const [k, ms] of s.byFunction.slice(0, top)) out.push(`${pct(ms)}  ${k}`);
  out.push('', 'self time by file / package:');
  for (const [k, ms] of s.byFile.slice(0, Math.min(top, 20))) out.push(`${pct(ms)}  ${k}`);
  out.push('', 'inclusive time (top):');
  for (const [k, ms] of s.inclusive.slice(0, top)) out.push(`${pct(ms)}  ${k}`);
  return out.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a));
  if (!file) {
    console.error('usage: node bench/profile-summary.mjs PROFILE.cpuprofile [--top N] [--map dist/certctl.js.map]');
    process.exit(2);
  }
  const top = Number(args[args.indexOf('--top') + 1]) || 25;
  const here = dirname(fileURLToPath(import.meta.url));
  const mapPath = args.includes('--map') ? args[args.indexOf('--map') + 1] : resolve(here, '../dist/certctl.js.map');
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  console.log(render(summarise(profile, loadMapper(mapPath)), top));
}
