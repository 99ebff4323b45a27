import { join } from 'node:path';
import { stageFilesFlushing, type FileToWrite } from '../../core/fs-atomic';
import type { Delivery } from '../../core/issuance-service';
import { kubeconfigTarget } from './kubeconfig';
import { checkFormat, layoutFiles, safeName, type LayoutOptions, type OutputFormat } from './layouts';
import { p12Files, p12Password } from './p12';

/** How issued certificates are written: the layout and what it needs (a PKCS#12 password, a kubeconfig target). */
export interface OutputSpec extends LayoutOptions {
  format: OutputFormat;
  password?: string;
}

/** The output flags `issue` and `renew` share. */
export interface OutputFlags {
  format: string;
  passwordFile?: string;
  server?: string;
  clusterName?: string;
}

/**
 * Validates the output flags before anything is issued: the format, the PKCS#12 password, the kubeconfig target.
 * @throws InvalidInputError naming the flag.
 */
export function outputSpec(flags: OutputFlags, caName: string, serverFlag?: string): OutputSpec {
  const format = checkFormat(flags.format);
  return {
    format,
    password: format === 'p12' ? p12Password(flags.passwordFile) : undefined,
    kubeconfig: kubeconfigTarget(format, flags, caName, serverFlag),
  };
}

/**
 * The delivery of issued certificates into --out in a layout: staged before the store
 * write, made visible after it. Several certificates of one CN go to sub-directories.
 * The returned delivery throws what layoutFiles, p12Files and stageFilesFlushing throw.
 */
export function outputDelivery(spec: OutputSpec, out: string, onFiles?: (paths: string[]) => void): Delivery {
  const { format } = spec;
  return async ({ items, ca }) => {
    const files: FileToWrite[] = [];
    const flat = items.length === 1 || format === 'flocker' || format === 'k8s';
    for (const item of items) {
      const dir = flat ? out : join(out, safeName(item.record.commonName, item.record.serial));
      if (format === 'p12') files.push(...(await p12Files(dir, item, ca, spec.password as string)));
      else files.push(...layoutFiles(format, dir, item, ca, spec));
    }
    // One cluster.crt / ca.pem for a whole batch.
    const unique = [...new Map(files.map((f) => [f.path, f])).values()];
    const staged = stageFilesFlushing(unique);
    onFiles?.(staged.paths);
    return staged;
  };
}
