// Starts the real servers the integration tests run against, once per jest run:
//   - Keystone + Barbican (tools/openstack-dev.sh start): Debian's packages on loopback;
//   - a Vault-API server (tools/vault-dev.sh start): built from Go modules.
// A server the developer already exported (OS_AUTH_URL + CERTCTL_IT_BARBICAN_ENDPOINT,
// CERTCTL_IT_VAULT_ADDR + CERTCTL_IT_VAULT_TOKEN) is used as is and left running.
// Under CI a server that cannot start fails the run: nothing may be skipped there. On a
// developer machine the reason is recorded and the tests that need it skip loudly.
const { spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..', '..');

/** Runs a start script; applies the `export NAME=value` lines it prints to process.env. */
function start(script, what, env = {}) {
  const r = spawnSync('bash', [join(root, 'tools', script), 'start'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 20 * 60 * 1000,
    env: { ...process.env, ...env },
  });
  if (r.status !== 0) {
    const tail = `${r.stderr || ''}${r.error ? r.error.message : ''}`.trim().split('\n').slice(-15).join('\n');
    return `\`tools/${script} start\` failed (exit ${r.status}):\n${tail}`;
  }
  for (const line of r.stdout.split('\n')) {
    const m = /^export ([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) process.env[m[1]] = m[2].replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1');
  }
  process.stderr.write(`global-setup: started ${what}\n`);
  return undefined;
}

function running(script) {
  const r = spawnSync('bash', [join(root, 'tools', script), 'status'], { cwd: root, encoding: 'utf8', timeout: 30000 });
  return r.status === 0;
}

/**
 * SoftHSM2 is a library, not a server: what it needs is a SOFTHSM2_CONF naming a token
 * directory, in the environment before the PKCS#11 module is loaded. Jest's workers and the CLI
 * they run inherit it from here (a test file cannot set it: the sandbox's process.env is a copy).
 * Each test file makes its own token there (test/support/softhsm.ts). The developer's own
 * SOFTHSM2_CONF and tokens are never used.
 */
function softhsmConf() {
  const dir = join(root, '.cache', 'softhsm2');
  mkdirSync(join(dir, 'tokens'), { recursive: true });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  process.env.SOFTHSM2_CONF = conf;
  process.env.CERTCTL_IT_SOFTHSM2_CONF = conf;
}

module.exports = async function globalSetup() {
  globalThis.__certctlStartedServers = [];
  softhsmConf();
  // `npm run test:unit` needs no server.
  if (process.env.CERTCTL_NO_SERVERS === '1') return;
  const ci = !!process.env.CI;
  const started = [];
  const problems = [];

  if (!(process.env.OS_AUTH_URL && process.env.CERTCTL_IT_BARBICAN_ENDPOINT)) {
    const installed =
      spawnSync('dpkg-query', ['-W', '-f=${Status}', 'python3-barbican', 'python3-keystone'], { encoding: 'utf8' }).stdout?.split('install ok installed')
        .length === 3;
    if (ci || installed || process.getuid?.() === 0) {
      const wasRunning = running('openstack-dev.sh');
      const failure = start('openstack-dev.sh', 'Keystone + Barbican');
      if (failure) problems.push(['CERTCTL_IT_OPENSTACK_UNAVAILABLE', failure]);
      else if (!wasRunning) started.push('openstack-dev.sh');
    } else {
      problems.push(['CERTCTL_IT_OPENSTACK_UNAVAILABLE', 'python3-barbican/python3-keystone are not installed and this user cannot install them']);
    }
  }

  if (!(process.env.CERTCTL_IT_VAULT_ADDR && process.env.CERTCTL_IT_VAULT_TOKEN)) {
    const built = existsSync(join(root, '.cache', 'vault-server', 'vault'));
    if (ci || built) {
      const wasRunning = running('vault-dev.sh');
      const saved = { VAULT_ADDR: process.env.VAULT_ADDR, VAULT_TOKEN: process.env.VAULT_TOKEN, VAULT_CACERT: process.env.VAULT_CACERT };
      // Over TLS, so every Vault test also proves certctl verifies the server (VAULT_CACERT).
      const failure = start('vault-dev.sh', 'the Vault-API dev server (TLS)', { VAULT_DEV_TLS: '1' });
      if (failure) problems.push(['CERTCTL_IT_VAULT_UNAVAILABLE', failure]);
      else {
        // The tests get the server as CERTCTL_IT_*; the developer's own VAULT_* stay as they were.
        process.env.CERTCTL_IT_VAULT_ADDR = process.env.VAULT_ADDR;
        process.env.CERTCTL_IT_VAULT_TOKEN = process.env.VAULT_TOKEN;
        if (process.env.VAULT_CACERT) process.env.CERTCTL_IT_VAULT_CACERT = process.env.VAULT_CACERT;
        for (const [k, v] of Object.entries(saved))
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        if (!wasRunning) started.push('vault-dev.sh');
      }
    } else {
      problems.push(['CERTCTL_IT_VAULT_UNAVAILABLE', 'the Vault-API server is not built (.cache/vault-server/vault is missing)']);
    }
  }

  for (const [name, why] of problems) {
    if (ci) throw new Error(`integration servers: ${why}`);
    process.env[name] = why;
    process.stderr.write(`\n*** global-setup: ${why}\n*** the tests that need this server will be SKIPPED\n`);
  }
  globalThis.__certctlStartedServers = started;
};
