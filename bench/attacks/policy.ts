// Attacks on the read policy rather than on the noise (the third wave's measurements): a partner
// asks the operator for a grant set that lets it subtract its way to a country it may not read,
// then reads cell by cell. With the grant-set rule holding, the hub refuses the set (409
// grant-set-exposes-country) and the attack recovers nothing; were a set accepted, the attack
// would read and be scored against the true counts like the others.
import { CENTRAL_ASIA } from '../../src/release/demo.js'
import { cellKey, score, toCount, trueTable, type Dim, type Filters, type Reader, type Score, type Scored, type World } from './harness.js'

export interface PolicyFigures {
  attack: string
  /** What the attacker asked the operator for, and what the hub answered. */
  asked: string
  status: number
  /** The problem's type and the countries it names, when refused. */
  refusal?: { type: string, countries: string[] }
  /** The country (and origin) the attack targets, scored against its true counts. */
  target: string
  score: Score
  /** True counts 1…k−1 the attack puts within ±3 (the perturbation's reach): values the hub would have withheld. */
  near: number
}

const BY: Dim[] = ['conditionGroup', 'sex', 'ageBand']

async function admin (world: World, method: 'PUT' | 'POST', url: string, payload: object) {
  const token = await world.hub.token(world.hub.admin)
  return world.hub.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, payload })
}

/** Reads `region` by BY (with filters) as a map key → released count (withheld as 0). */
async function table (world: World, reader: Reader, region: string, filters: Filters = {}): Promise<Map<string, number>> {
  const answer = await world.read(reader, { region, by: BY, filters }, { fresh: true })
  if (answer.status !== 200) throw new Error(`policy attack: reading ${region}: ${answer.status} ${answer.detail ?? ''}`)
  return new Map(answer.cells.map((c) => [cellKey(c.key), c.count ?? 0]))
}

/** The target's true cells scored against an estimate (none when the set was refused). */
function scored (world: World, target: Filters, estimate?: (key: string) => number): { score: Score, near: number } {
  const truth = trueTable(world.records, BY, target)
  const cells: Scored[] = [...truth].map(([key, count]) => ({ truth: count, released: null, estimate: estimate ? toCount(estimate(key)) : null }))
  const near = cells.filter((c) => c.truth < world.k && c.estimate !== null && c.estimate > 0 && Math.abs(c.estimate - c.truth) <= 3).length
  return { score: score(cells, world.k), near }
}

function refusalOf (res: { statusCode: number, json: () => unknown }): PolicyFigures['refusal'] {
  if (res.statusCode === 200) return undefined
  const body = res.json() as { type?: string, countries?: string[] }
  return { type: body.type ?? '', countries: body.countries ?? [] }
}

/**
 * A ministry that reads its own country exactly asks for the region and three neighbours: the
 * region minus the neighbours minus its own exact counts is the fifth country, cell by cell.
 */
export async function ownCountryDifferencing (world: World): Promise<PolicyFigures> {
  const kaz = world.ministries.get('KAZ')
  if (!kaz) throw new Error('no KAZ ministry')
  const neighbours = ['KGZ', 'TJK', 'TKM']
  const target = CENTRAL_ASIA.find((c) => c !== 'KAZ' && !neighbours.includes(c))!
  const res = await admin(world, 'PUT', `/v1/admin/partners/${kaz.id}/grants`, { grants: [{ region: 'central-asia' }, ...neighbours.map((region) => ({ region }))] })
  const figures = { attack: 'own country + region grants', asked: `${kaz.id}: {central-asia, ${neighbours.join(', ')}} (reads KAZ exactly)`, status: res.statusCode, refusal: refusalOf(res), target }
  if (res.statusCode !== 200) return { ...figures, ...scored(world, { country: [target] }) }
  const region = await table(world, kaz, 'central-asia')
  const known = await Promise.all([...neighbours, 'KAZ'].map((c) => table(world, kaz, c)))
  return { ...figures, ...scored(world, { country: [target] }, (key) => (region.get(key) ?? 0) - known.reduce((sum, t) => sum + (t.get(key) ?? 0), 0)) }
}

/**
 * A reader with a full grant on a wider region and an origin grant on the narrower one: with the
 * origin filter on both, their difference is the one country left, for that origin's nationals.
 */
export async function originGrantDifferencing (world: World): Promise<PolicyFigures> {
  const origin = 'TJK'
  const made = await admin(world, 'POST', '/v1/admin/regions', { code: 'ca-rus', name: 'Central Asia and Russia', members: [...CENTRAL_ASIA, 'RUS'] })
  if (made.statusCode !== 201 && made.statusCode !== 409) throw new Error(`policy attack: region: ${made.statusCode} ${made.body}`)
  const reader = await world.reader('who-europe-policy', { regionOnly: true })
  const res = await admin(world, 'PUT', `/v1/admin/partners/${reader.id}/grants`, { grants: [{ region: 'ca-rus' }, { region: 'central-asia', countryOfOrigin: origin }] })
  const target = { country: ['RUS'], countryOfOrigin: [origin] }
  const figures = { attack: 'origin grant + wider region', asked: `${reader.id}: {ca-rus, central-asia·origin ${origin}}`, status: res.statusCode, refusal: refusalOf(res), target: `RUS × origin ${origin}` }
  if (res.statusCode !== 200) return { ...figures, ...scored(world, target) }
  const wide = await table(world, reader, 'ca-rus', { countryOfOrigin: [origin] })
  const narrow = await table(world, reader, 'central-asia', { countryOfOrigin: [origin] })
  return { ...figures, ...scored(world, target, (key) => (wide.get(key) ?? 0) - (narrow.get(key) ?? 0)) }
}

/** Regions are immutable: re-creating central-asia without UZB (so that it and the old totals differ by UZB) is refused. */
export async function regionEdit (world: World): Promise<PolicyFigures> {
  const res = await admin(world, 'POST', '/v1/admin/regions', { code: 'central-asia', name: 'Central Asia', members: CENTRAL_ASIA.filter((c) => c !== 'UZB') })
  return { attack: 'region edit', asked: 'central-asia without UZB', status: res.statusCode, refusal: refusalOf(res), target: 'UZB', ...scored(world, { country: ['UZB'] }) }
}

export async function policyAttacks (world: World): Promise<PolicyFigures[]> {
  return [await ownCountryDifferencing(world), await originGrantDifferencing(world), await regionEdit(world)]
}

export function printPolicy (figures: PolicyFigures[], log: (line: string) => void = console.log): void {
  log('policy attacks (grant sets that would subtract to an unreadable country):')
  for (const f of figures) {
    log(`  ${f.attack}: asked ${f.asked} → ${f.status}${f.refusal ? ` ${f.refusal.type.split('/').pop()} ${f.refusal.countries.join(', ')}` : ''}; `
      + `${f.target}: recovered ${f.score.recovered} of ${f.score.small} true counts 1…k−1 exactly, ${f.near} within ±3; ${f.score.recoveredAll} of ${f.score.all} cells exactly`)
  }
}
