// Origin grants: `{region: "RUS", countryOfOrigin: "TJK"}` lets a reader read Russia's data about
// Tajik nationals only, so every query on that unit must carry exactly that origin filter.
import type { Grant } from '../auth/directory.js'
import { problem } from '../problem.js'

export interface OriginQuery {
  region: string
  filters: { countryOfOrigin?: readonly string[] }
}

/**
 * Throws a 403 problem+json (`originRequired: {unit, countryOfOrigin}`) unless, for every unit the
 * read uses (`units`, default the query's region) whose grant is an origin grant, the query's
 * countryOfOrigin filter is exactly that one country. Units without an origin grant are not this
 * rule's business (permitRead decides them).
 */
export function originRule (query: OriginQuery, grants: readonly Grant[], units: readonly string[] = [query.region]): void {
  const byUnit = new Map(grants.map((g) => [g.region, g]))
  const filter = query.filters.countryOfOrigin
  for (const unit of units) {
    const origin = byUnit.get(unit)?.countryOfOrigin
    if (!origin) continue
    if (filter === undefined || filter.length !== 1 || filter[0] !== origin) {
      throw problem('forbidden', `the grant on ${unit} covers nationals of ${origin} only: add countryOfOrigin=${origin}, and no other origin`, {
        originRequired: { unit, countryOfOrigin: origin },
        errors: [{ path: 'countryOfOrigin', message: `must be exactly ${origin}` }]
      })
    }
  }
}
