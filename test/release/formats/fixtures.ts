// Answers built by hand for the renderers, and the names and vocabulary of the shipped catalogs.
import { loadSchemaRegistry } from '../../../src/intake/registry.js'
import { loadVocabulary } from '../../../src/release/dimensions.js'
import type { Answer } from '../../../src/release/formats/answer.js'
import { loadNames } from '../../../src/release/formats/names.js'

export const schemas = await loadSchemaRegistry()
export const names = loadNames(schemas)
export const vocabulary = loadVocabulary(schemas)
export const PUBLIC_URL = 'http://mhx.test'

export function answerOf (overrides: Partial<Answer> = {}): Answer {
  return {
    region: 'central-asia',
    from: '2026-01',
    to: '2026-06',
    periodType: 'month',
    by: [],
    filters: {},
    coverage: [],
    k: 5,
    disclosure: { method: 'cellkey', ptable: 'v1' },
    lastUpdated: '2026-07-01T10:00:00.000Z',
    cells: [],
    ...overrides
  }
}
