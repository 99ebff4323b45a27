/**
 * The top-level sections of certctl.yaml that belong to the server (`certctl serve`), not to a
 * backend: every command accepts them in the file, and only the server parses them
 * (src/server/config.ts, src/acme/config.ts), so `certctl issue` pays nothing for them.
 */
export const SERVER_SECTIONS = ['serve', 'acme'] as const;
