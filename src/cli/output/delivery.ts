import { join } from 'node:path';
import { stageFiles, type FileToWrite } from '../../core/fs-atomic';
import type { Delivery } from '../../core/issuance-service';
import { layoutFiles, safeName, type OutputFormat } from './layouts';
import { p12Files } from './p12';

/**
 * The delivery of issued certificates into --out in a layout: staged before the store
 * write, made visible after it. Several certificates of one CN go to sub-directories.
 * The returned delivery throws what layoutFiles, p12Files and stageFiles throw.
 */
export function outputDelivery(format: OutputFormat, out: string, password?: string, onFiles?: (paths: string[]) => void): Delivery {
  return async ({ items, ca }) => {
    const files: FileToWrite[] = [];
    const flat = items.length === 1 || format === 'flocker' || format === 'k8s';
    for (const item of items) {
      const dir = flat ? out : join(out, safeName(item.record.commonName, item.record.serial));
      if (format === 'p12') files.push(...(await p12Files(dir, item, ca, password as string)));
      else files.push(...layoutFiles(format, dir, item, ca));
    }
    // One cluster.crt / ca.pem for a whole batch.
    const unique = [...new Map(files.map((f) => [f.path, f])).values()];
    const staged = stageFiles(unique);
    onFiles?.(staged.paths);
    return staged;
  };
}
