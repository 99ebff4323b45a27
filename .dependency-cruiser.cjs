// Import rules of certctl's architecture (DESIGN.md "Two interfaces, three backends", issue #10):
// the core names no backend, no CLI and no server; the server names no backend; a backend is one folder that imports no other backend
// and no CLI; the CLI reaches backends only through the registry src/backends/index.ts.
// Run by `npm run lint` (depcruise src). Lazy loads `require('…') as typeof import('…')` are
// CommonJS requires and count like imports; so do type-only imports (`import type`,
// `typeof import('…')`): a type from a backend still ties the importer to that backend.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-imports-no-backend-or-cli',
      comment: 'src/core is backend-neutral and knows nothing of the CLI: backends reach it through the descriptor, the CLI calls it.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/(backends|cli|server)/' },
    },
    {
      name: 'backend-imports-no-other-backend',
      comment:
        'A backend is one folder: it imports the core and src/backends/http/ (the shared REST library, not a backend), never another backend nor the registry src/backends/index.ts.',
      severity: 'error',
      from: { path: '^src/backends/([^/]+)/' },
      to: { path: '^src/backends/', pathNot: ['^src/backends/$1/', '^src/backends/http/'] },
    },
    {
      name: 'backend-imports-no-cli',
      comment: 'Backends serve the core; the CLI and the server are their callers, never their dependencies.',
      severity: 'error',
      from: { path: '^src/backends/' },
      to: { path: '^src/(cli|server)/' },
    },
    {
      name: 'server-names-no-backend-and-no-cli',
      comment:
        'src/server (certctl serve) works over the core like the CLI: the registry is handed to it, so it names no backend (src/backends/http/, the shared REST library, is not one); the CLI starts it, never the other way round.',
      severity: 'error',
      from: { path: '^src/server/' },
      to: { path: '^src/(backends|cli)/', pathNot: '^src/backends/http/' },
    },
    {
      name: 'cli-reaches-backends-through-registry',
      comment: 'The CLI names no backend: it asks the registry src/backends/index.ts for a descriptor (a new backend is one folder plus one registry line).',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/backends/.+/' },
    },
    {
      name: 'acme-names-no-backend-and-no-cli',
      comment:
        'src/acme (ACME in certctl serve) works over the core and the server context; its state goes through the StateStore capability, never a named backend.',
      severity: 'error',
      from: { path: '^src/acme/' },
      to: { path: '^src/(backends|cli)/' },
    },
    {
      name: 'client-uses-only-the-http-library',
      comment:
        'src/client (enroll, agent: the clients of certctl serve) talks HTTPS through the shared REST library src/backends/http/; it names no backend, no server code and no CLI.',
      severity: 'error',
      from: { path: '^src/client/' },
      to: { path: '^src/(backends/(?!http/)|server/|cli/)' },
    },
    {
      name: 'no-circular',
      comment: 'A cycle makes load order matter and hides which module owns a concern.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import the cruiser cannot resolve would silently escape the rules above.',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are dependencies too (see the header).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['cjs', 'es6'],
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
