// Flat config: typescript-eslint's recommended rules without type information (fast).
import js from '@eslint/js'
import stylistic from '@stylistic/eslint-plugin'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['test/client/openapi.d.ts', 'dist/', 'web/dist/', '.tap/', 'node_modules/', 'scratch/', 'coverage/', '.mhx/', 'bench/out/', '.scratch-*/', '.prof.*'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // The one code formatter: ESLint Stylistic, in the layout the code was written in (standard-like:
  // no semicolons, two spaces, single quotes, a space before a function's parentheses).
  // `npx eslint --fix .` formats; `npm run lint` fails on any layout that differs.
  stylistic.configs.customize({ indent: 2, quotes: 'single', semi: false, jsx: false, arrowParens: true, braceStyle: '1tbs', commaDangle: 'never', quoteProps: 'as-needed' }),
  {
    rules: {
      '@stylistic/space-before-function-paren': ['error', { anonymous: 'always', named: 'always', asyncArrow: 'always' }],
      '@stylistic/member-delimiter-style': ['error', { multiline: { delimiter: 'none' }, singleline: { delimiter: 'comma', requireLast: false } }],
      // Short guard clauses (`if (x) { a(); return }`) stay on one line.
      '@stylistic/max-statements-per-line': ['error', { max: 5 }],
      // Short lists stay packed on a line of their own (a call's options, a column list).
      '@stylistic/list-style': 'off'
    }
  },
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
