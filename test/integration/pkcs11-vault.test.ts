import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vaultBackend } from '../../src/backends/vault';
import { loadConfig } from '../../src/core/config/load';
import { describeCertStoreContract } from '../contract/cert-store.contract';
import { describeSignerContract } from '../contract/signer.contract';
import { openSignerAndStore } from '../support/containers';
import { describeWithVault, vaultEnv, writeVaultConfig, purgeKvPrefix } from '../support/servers';
import { describeWithSoftHsm } from '../support/softhsm';

jest.setTimeout(120000);

// `signer: pkcs11` over `store: vault-kv`: the CA keys in a SoftHSM2 token, everything else in a
// real Vault-API server's KV v2 mount. The same contracts as every other signer and store.
describeWithVault('PKCS#11 signer over Vault KV', (vault) => {
  describeWithSoftHsm('SoftHSM2 + Vault KV v2', (hsm) => {
    const fixture = () => {
      const dir = mkdtempSync(join(tmpdir(), 'certctl-pkcs11-vault-'));
      const { kvPrefix, path } = writeVaultConfig(dir);
      // The Vault section as written for the other Vault tests, with the token signer in front of it.
      writeFileSync(
        path,
        `signer: pkcs11\nstore: vault-kv\n${readFileSync(path, 'utf8').replace(/^(backend|signer|store):.*\n/gm, '')}${hsm.section(`v${randomBytes(4).toString('hex')}-{ca}`)}`,
      );
      const config = loadConfig({}, { ...vaultEnv(vault), XDG_CONFIG_HOME: join(dir, 'xdg') }, dir);
      return {
        config,
        cleanup: async () => {
          purgeKvPrefix(vault, kvPrefix);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    };

    describeSignerContract('pkcs11 signer over vault KV v2', async () => {
      const fx = fixture();
      const { signer, store, declared } = openSignerAndStore(fx.config, 'pkcs11', undefined, 'vault-kv');
      return { signer, store, declared, cleanup: fx.cleanup };
    });

    describeCertStoreContract('vault KV v2 beside the pkcs11 signer', async () => {
      const fx = fixture();
      const { store } = openSignerAndStore(fx.config, 'pkcs11', undefined, 'vault-kv');
      return { store, declared: vaultBackend.capabilities.store, cleanup: fx.cleanup };
    });
  });
});
