// MIGRANT_HEALTH_IND through the SDMX REST data path: a key INDICATOR.REF_AREA.SEX becomes indicator reads
// (readIndicatorValues: the same policy, budget and protection as GET /v1/indicators/{id}/values).
import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Region } from '../admin/regions.js'
import { callerOf } from '../auth/bearer.js'
import { representation, sendRepresentation } from '../ops/http.js'
import { problem } from '../problem.js'
import type { Names } from '../release/formats/names.js'
import { dataQueries, negotiateSdmxData, SDMX_DATA_CONTENT_TYPE } from '../release/formats/sdmx-data.js'
import { sdmxDimensions, SDMX_VERSION, TOTAL } from '../release/formats/sdmx.js'
import type { ReleaseDeps } from '../release/release.js'
import type { ExtraFlow } from '../release/sdmx-routes.js'
import type { Figures } from './denominators.js'
import { populationOf, type IndicatorCatalog } from './catalog.js'
import { IND_FLOW, IND_VERSION, indicatorObservations, indicatorSdmxCsv, indicatorSdmxJson, isIndicatorFlow, withIndicatorStructure } from './sdmx.js'
import { readIndicatorValues } from './values.js'

const keyFault = (message: string) => problem('badRequest', `key: ${message}`, { errors: [{ path: 'key', message }] })

export function indicatorFlow (deps: { release: ReleaseDeps, figures: () => Promise<Figures>, catalog: IndicatorCatalog, names: Names, publicUrl: string, now: () => Date }): ExtraFlow {
  const { catalog, names } = deps
  const structureUrl = `${deps.publicUrl}/v1/sdmx/structure/dataflow/MHX/${IND_FLOW}/${IND_VERSION}`
  return {
    id: IND_FLOW,
    version: IND_VERSION,
    matches: isIndicatorFlow,
    extend: (message) => withIndicatorStructure(message, catalog, names),
    async data (request: FastifyRequest, reply: FastifyReply, key: string, regions: readonly Region[]) {
      const format = negotiateSdmxData(request.headers.accept)
      if (!format) throw problem('notAcceptable', 'this route answers application/vnd.sdmx.data+json;version=2.0.0 or application/vnd.sdmx.data+csv;version=2.0.0')
      const parts = key.split('.')
      if (parts.length !== 3) throw keyFault(`has ${parts.length} position${parts.length === 1 ? '' : 's'}; the key of ${IND_FLOW}(${IND_VERSION}) has 3, separated by dots: INDICATOR.REF_AREA.SEX`)
      const ids = parts[0] === '' ? catalog.indicators.map((i) => i.id) : [...new Set(parts[0].split('+'))]
      const unknown = ids.filter((id) => !catalog.indicator(id))
      if (unknown.length > 0) throw keyFault(`INDICATOR (position 1): ${unknown.map((c) => `"${c}"`).join(', ')} not in its codelist`)
      // The same read as MIGRANT_HEALTH's key with REF_AREA and SEX given and every other dimension summed out.
      const aggregateKey = sdmxDimensions(SDMX_VERSION).filter((d) => d !== 'period').map((d) => d === 'country' ? parts[1] : d === 'sex' ? parts[2] : TOTAL).join('.')
      let queries
      try {
        queries = dataQueries(aggregateKey, request.query as Record<string, string | undefined>, SDMX_VERSION, { vocabulary: deps.release.vocabulary, regions }, deps.now())
      } catch (err) {
        // Its messages name MIGRANT_HEALTH's positions: say which of ours.
        const detail = (err as Error).message.replace(/position \d+/g, (p) => p.replace(/\d+/, (n) => String(Number(n) === 1 ? 2 : 3)))
        throw problem('badRequest', detail, { errors: [{ path: detail.split(':')[0], message: detail }] })
      }
      const answers = []
      for (const id of ids) {
        const indicator = catalog.indicator(id)!
        const population = populationOf(indicator)
        // A rate whose population has one sex is read as its total whatever SEX asks.
        const bySexAllowed = population === null || catalog.population(population)?.sex === null
        for (const query of queries) {
          const asked = { ...query }
          if (!bySexAllowed) {
            delete asked.sex
            if (asked.by) asked.by = asked.by.split(',').filter((d) => d !== 'sex').join(',') || undefined
          }
          answers.push(await readIndicatorValues({ release: deps.release, figures: deps.figures, catalog }, callerOf(request), id, asked))
        }
      }
      const observations = answers.flatMap(indicatorObservations)
      if (observations.length === 0) throw problem('noResults', 'no observation matches this key and period (nothing counted): as SDMX REST answers a query without data')
      const lastUpdated = answers.map((a) => a.lastUpdated).filter((t) => t !== null).sort().at(-1)
      let body: string
      if (format === 'csv') {
        body = indicatorSdmxCsv(observations)
      } else {
        const id = createHash('sha256').update(JSON.stringify([IND_VERSION, ids, queries, answers.map((a) => [a.lastUpdated, a.k])])).digest('hex').slice(0, 20)
        const regionNames = new Map(regions.map((r) => [r.code, r.name]))
        body = JSON.stringify(indicatorSdmxJson(observations, {
          id: `MHX-IND-${id}`, prepared: lastUpdated ?? deps.now().toISOString(), structureUrl, catalog,
          codeName: (dim, code) => (dim === 'country' ? regionNames.get(code) : undefined) ?? names.code(dim, code, 'en')
        }))
      }
      void reply.header('cache-control', 'private, no-cache').header('vary', 'accept, accept-encoding, authorization').type(SDMX_DATA_CONTENT_TYPE[format])
      if (lastUpdated) void reply.header('last-modified', new Date(lastUpdated).toUTCString())
      return sendRepresentation(request, reply, representation(body))
    }
  }
}
