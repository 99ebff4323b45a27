import type { Command } from 'commander';
import { fail, globalsOf, loadRuntimeConfig } from '../runtime';

/** `certctl serve`: the CA as an HTTPS service, in the foreground, until SIGTERM. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the CA as an HTTPS service (sign, renew, revoke, CRL, OCSP) in the foreground')
    .option('--listen <host:port>', 'address to listen on (default: serve.listen, else 127.0.0.1:8443)')
    .addHelpText(
      'after',
      `
The server's certificate is issued by the CA at start (server profile, naming the listen
address and localhost; renewed before it expires, no restart), unless serve.tls gives files.
Logs go to stderr, one JSON line per request. SIGHUP reloads certctl.yaml and the TLS
certificate; SIGTERM finishes the requests in flight and exits 0. /openapi.json describes the API.

Examples:
  certctl serve --listen 127.0.0.1:8443
  curl --cacert ca.crt https://127.0.0.1:8443/v1/ca`,
    )
    .action(async (opts: { listen?: string }, cmd: Command) => {
      const globals = globalsOf(cmd);
      try {
        const { registry } = require('../../backends') as typeof import('../../backends');
        const { startServer } = require('../../server/serve') as typeof import('../../server/serve');
        const { config, passphrase } = loadRuntimeConfig(globals);
        const running = await startServer({ config, passphrase, registry, listen: opts.listen, reloadConfig: () => loadRuntimeConfig(globals).config });
        await new Promise<void>((resolve) => {
          const stop = () => {
            process.off('SIGTERM', stop);
            process.off('SIGINT', stop);
            running.close().then(resolve, resolve);
          };
          process.on('SIGTERM', stop);
          process.on('SIGINT', stop);
        });
      } catch (err) {
        process.exitCode = fail(err, Boolean(globals.json));
      }
    });
}
