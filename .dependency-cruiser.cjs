/**
 * The layering of src/ (docs/architecture.md), checked by test/layering.test.ts with dependency-cruiser.
 * Bottom to top: model ← shared ← store, sandbox ← languages ← executor ← invoke ← triggers, control ← compat
 * ← server, cli.
 */
const feature = '^src/(cli|compat|control|executor|invoke|languages|sandbox|store|triggers)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle-between-modules',
      comment: 'No import cycle between the top-level folders of src/: the layers read bottom-up.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/[^/]+$' },
      to: { path: '^src/[^/]+$', circular: true },
    },
    {
      name: 'model-is-a-leaf',
      comment: 'The domain model imports nothing else from src/.',
      severity: 'error',
      from: { path: '^src/model/' },
      to: { path: '^src/', pathNot: '^src/model/' },
    },
    {
      name: 'shared-imports-no-feature',
      comment: 'src/shared/ is below every feature module: it may import the model, nothing else.',
      severity: 'error',
      from: { path: '^src/shared/' },
      to: { path: `${feature}|^src/server\\.ts$` },
    },
    {
      name: 'executor-and-sandbox-stay-below-protocols',
      comment:
        'The executor and the sandbox know nothing about triggers, the control API, the queue or dialects.',
      severity: 'error',
      from: { path: '^src/(executor|sandbox)/' },
      to: { path: '^src/(triggers|control|invoke|compat|cli)/|^src/server\\.ts$' },
    },
    {
      name: 'languages-stay-below-the-executor',
      comment: 'Runtime records (build, launch) use the model, shared and the sandbox only.',
      severity: 'error',
      from: { path: '^src/languages/' },
      to: { path: '^src/(triggers|control|invoke|compat|cli|executor|store)/|^src/server\\.ts$' },
    },
    {
      name: 'triggers-not-to-control',
      comment: 'Trigger adapters do not reach into the management API.',
      severity: 'error',
      from: { path: '^src/triggers/' },
      to: { path: '^src/(control|cli)/|^src/server\\.ts$' },
    },
    {
      name: 'compat-only-from-composition-root',
      comment:
        'Dialects are plugged in by server.ts (and the CLI that starts it), never imported by the core.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(compat/|cli/|server\\.ts$)' },
      to: { path: '^src/compat/' },
    },
    {
      name: 'nothing-imports-the-cli-or-the-root',
      comment: 'The CLI and the composition root sit on top.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli/|server\\.ts$)' },
      to: { path: '^src/(cli/|server\\.ts$)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$' },
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
