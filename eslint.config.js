import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Everything under src/credentials/ but the registry, its public face. */
const KIND_FOLDERS = {
  regex: '/credentials/(?!registry\\.js$)',
  message: 'the engine and the entries reach credential kinds only through credentials/registry',
};

/** The kinds build their configuration with config-kit/ and core/target.ts; config/ is above them. */
const CONFIG_FROM_BELOW = {
  regex: '(^|/)config/',
  message: 'a kind builds its config with config-kit/ and core/target.ts; config/ reaches kinds through the registry',
};

export default tseslint.config(
  { ignores: ['dist/**', 'coverage/**', '.serverless/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  { languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // The layering, kept by lint rather than by folder names alone (docs/architecture.md). Later
  // blocks replace the rule for the files they name, so the stricter block comes last.
  {
    files: ['src/credentials/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)(adapters|engine|entry)/|wiring\\.js$',
              message: 'a credential kind reaches the world only through the Runtime ports (core/runtime.ts)',
            },
            CONFIG_FROM_BELOW,
          ],
        },
      ],
    },
  },
  {
    files: ['src/core/**/*.ts', 'src/credentials/*/plan.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)(adapters|engine|entry)/',
              message: 'core and planners are pure: they decide, the engine and adapters act',
            },
            { regex: '(^|/)(log|wiring)\\.js$', message: 'core and planners are pure: no logging, no wiring' },
            {
              regex: '^node:(?!crypto$)',
              message: 'core and planners do no I/O (node:crypto for hashing is the one exception)',
            },
            { regex: '(^|/)(config|config-kit|credentials)/', message: 'core/ imports nothing above it' },
          ],
        },
      ],
    },
  },
  {
    // The configuration toolkit sits just above core/: config/ and every kind build on it.
    files: ['src/config-kit/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)(adapters|config|credentials|engine|entry)/|(log|wiring)\\.js$',
              message: 'config-kit/ imports only core/, errors.ts, zod and node-cron',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/config/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { ...KIND_FOLDERS, message: 'config/ reaches credential kinds only through credentials/registry' },
            { regex: '(^|/)(adapters|engine|entry)/', message: 'config/ reads and checks; it acts on nothing' },
          ],
        },
      ],
    },
  },
  {
    // The engine and the entries never name a credential kind (docs/architecture.md): they reach kinds
    // through credentials/registry only, and no string names a built-in kind. A new kind is its folder
    // and one line in the registry.
    files: ['src/engine/**/*.ts', 'src/entry/**/*.ts', 'src/wiring.ts', 'src/webhooks.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [KIND_FOLDERS] }],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'Literal[value=/^(api-key|auth-token)$/]',
          message: "the engine and the entries never name a kind: ask the kind's table (credentials/registry)",
        },
      ],
    },
  },
  {
    files: ['src/entry/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '/engine/(reconcile|scope|dry-run|describe)\\.js$',
              message:
                "entries use the engine's public modules: commands, protocol, secret-put, alerts, audit, emergency",
            },
            KIND_FOLDERS,
          ],
        },
      ],
    },
  },
  {
    // Tests poke at untyped wire payloads (emulator bodies, mutated configs); production code may not.

    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  { files: ['eslint.config.js', 'scripts/**/*.mjs', 'scripts/**/*.cjs'], ...tseslint.configs.disableTypeChecked },
  {
    files: ['scripts/**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { module: 'writable', require: 'readonly', __dirname: 'readonly', process: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  { files: ['scripts/**/*.mjs'], languageOptions: { globals: { process: 'readonly', console: 'readonly' } } },
);
