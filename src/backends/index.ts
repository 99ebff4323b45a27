import { BackendRegistry } from '../core/backend-registry';
import { barbicanBackend } from './barbican';
import { fileBackend } from './file';
import { pkcs11Backend } from './pkcs11';
import { vaultBackend } from './vault';

/**
 * The backends certctl ships: one line each. A backend is its folder plus its line here
 * (ARCHITECTURE.md "Adding a backend"); nothing else in the core or the CLI names it. The first
 * is the default when the configuration names none.
 */
export const registry = new BackendRegistry([fileBackend, barbicanBackend, vaultBackend, pkcs11Backend]);
