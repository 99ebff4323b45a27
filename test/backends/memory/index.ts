import { ContainerModule } from 'inversify';
import type { BackendDescriptor } from '../../../src/core/backend';
import { CertStore } from '../../../src/core/cert-store';
import { MemoryCertStore } from './memory-cert-store';
import { MemoryOptions, parseMemoryOptions } from './options';

/**
 * A backend that lives entirely in this folder: a store kept in memory, signed for by the core's
 * LocalSigner. Registered by tests (`registry.register(memoryBackend)`), never shipped.
 */
export const memoryBackend: BackendDescriptor<MemoryOptions> = {
  name: 'memory',
  aliases: ['mem'],
  summary: 'an in-memory store for tests; certctl signs with the CA key kept there',
  section: 'memory',
  provides: { store: true, signer: false },
  capabilities: { store: ['raiseCrlNumber', 'deleteCa', 'state'], signer: [] },
  parseOptions: parseMemoryOptions,
  module(options) {
    return new ContainerModule(({ bind }) => {
      bind(MemoryOptions).toConstantValue(options);
      bind(CertStore).to(MemoryCertStore);
    });
  },
  location: (o) => `memory space ${o.space}`,
};
