import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/core/config/load';
import { describeCertStoreContract } from '../contract/cert-store.contract';
import { describeSignerContract } from '../contract/signer.contract';
import { openSignerAndStore, openStore } from '../support/containers';
import { describeWithVault, vaultCurl, vaultEnv, writeVaultConfig, purgeKvPrefix } from '../support/servers';

jest.setTimeout(120000);

// The Signer and CertStore contracts, written for the file backend, against a real Vault-API
// server: each test gets its own PKI mount and KV prefix, removed afterwards.
describeWithVault('Vault backend', (vault) => {
  const fixture = () => {
    const dir = mkdtempSync(join(tmpdir(), 'certctl-vault-'));
    const { pkiMount, kvPrefix } = writeVaultConfig(dir);
    const config = loadConfig({}, { ...vaultEnv(vault), XDG_CONFIG_HOME: join(dir, 'xdg') }, dir);
    return {
      config,
      cleanup: async () => {
        vaultCurl(vault, 'DELETE', `sys/mounts/${pkiMount}`);
        purgeKvPrefix(vault, kvPrefix);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };

  describeCertStoreContract('vault KV v2', async () => {
    const fx = fixture();
    return { ...openStore(fx.config, 'vault'), cleanup: fx.cleanup };
  });

  describeSignerContract('vault PKI (sign/:role) over vault KV v2', async () => {
    const fx = fixture();
    const { signer, store, declared } = openSignerAndStore(fx.config, 'vault');
    return { signer, store, declared, cleanup: fx.cleanup };
  });
});
