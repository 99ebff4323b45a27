// Process helpers shared by the benchmark scripts: a process tree from /proc, killing it, and
// sampling its memory and CPU. Linux only, as the benchmarks are.
import { readFileSync, readdirSync } from 'node:fs';

/** Pids of every descendant of `pid` (from /proc). */
export function descendants(pid) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch {
      /* exited meanwhile */
    }
  }
  const out = [];
  const queue = [pid];
  while (queue.length) for (const c of children.get(queue.shift()) ?? []) (out.push(c), queue.push(c));
  return out;
}

/** SIGKILLs `pid` and every descendant. */
export function killTree(pid) {
  for (const p of [...descendants(pid), pid]) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

// USER_HZ: the unit of utime/stime in /proc/PID/stat. 100 on every Linux architecture node runs
// on (the kernel exports it to user space as a constant, whatever CONFIG_HZ is).
const USER_HZ = 100;

/**
 * Resident memory and CPU time of the processes `pids` (summed; a pid that has exited counts 0):
 * `rss` in bytes (VmRSS of /proc/PID/status), `cpuMs` user + system time in milliseconds.
 */
export function treeStats(pids) {
  let rss = 0;
  let ticks = 0;
  for (const pid of pids) {
    try {
      const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      rss += Number(kb ?? 0) * 1024;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the command name.
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      /* exited */
    }
  }
  return { rss, cpuMs: (ticks * 1000) / USER_HZ };
}
