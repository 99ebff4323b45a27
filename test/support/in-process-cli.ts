import { main } from '../../src/cli/main';
import type { CliResult } from './cli';

/**
 * Runs certctl's command line inside the test process (`main(argv)`), for backends that exist only
 * here: a backend a test registered on the registry, or a store that lives in this process's
 * memory. stdout and stderr are captured; `--json` output is parsed as the built CLI's runner does.
 */
export async function certctlInProcess(args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  process.exitCode = 0;
  let status: number;
  try {
    status = await main(['node', 'certctl', ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = 0;
  }
  const result: CliResult = { status, stdout, stderr };
  if (args.includes('--json')) {
    try {
      result.json = JSON.parse(stdout);
    } catch {
      /* left undefined: the test asserting on it will say so */
    }
  }
  return result;
}
