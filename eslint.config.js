// Flat config: typescript-eslint's recommended rules without type information (fast).
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'web/dist/', '.tap/', 'node_modules/', 'scratch/', 'coverage/', '.mhx/', 'bench/out/', '.scratch-*/', '.prof.*'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: {
        process: 'readonly', Buffer: 'readonly', console: 'readonly', URL: 'readonly', URLSearchParams: 'readonly',
        setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly',
        AbortSignal: 'readonly', AbortController: 'readonly', TextDecoder: 'readonly', TextEncoder: 'readonly', fetch: 'readonly',
        Response: 'readonly', Headers: 'readonly', structuredClone: 'readonly', globalThis: 'readonly', performance: 'readonly', queueMicrotask: 'readonly'
      }
    },
    rules: {
      // `_name` marks a deliberately unused binding (destructuring a field away, a callback's slot).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true }],
      // Casts at library boundaries (fastify, drizzle, jose) are the codebase's way to type what the libraries leave open.
      '@typescript-eslint/no-explicit-any': 'warn',
      '@typescript-eslint/no-non-null-assertion': 'off',
      // An empty catch says "absent is fine" (a file that may not exist yet, a server not up yet).
      'no-empty': ['error', { allowEmptyCatch: true }],
      // Worth seeing, but a clearer message in place of a library's error is a deliberate choice here.
      'preserve-caught-error': 'warn'
    }
  },
  {
    files: ['test/**/*.ts'],
    // Tests name tap's Test type with a type-only namespace.
    rules: { '@typescript-eslint/no-namespace': 'off' }
  }
)
