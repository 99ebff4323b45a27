// Stops the servers test/support/global-setup.js started (by the pids their scripts recorded);
// servers that were already running before the tests are left alone.
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');

module.exports = async function globalTeardown() {
  for (const script of globalThis.__certctlStartedServers ?? []) {
    spawnSync('bash', [join(__dirname, '..', '..', 'tools', script), 'stop'], { stdio: 'inherit', timeout: 60000 });
  }
};
