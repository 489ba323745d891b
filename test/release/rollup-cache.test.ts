// The roll-up cache: a new data version always recomputes; past the TTL the old entry answers once more while one refresh runs.
import t from 'tap'
import { createRollupCache } from '../../src/release/rollup.js'

t.test('versions, TTL, refresh and the quiet rule', async (t) => {
  let clock = 1_000_000
  const cache = createRollupCache({ ttlMs: 5_000, now: () => clock })
  let computed = 0
  const compute = (n: number) => () => { computed++; return Promise.resolve([{ key: [], count: n }]) }
  const version = (ms: number) => ({ key: `${ms}:0`, changesHeard: 0, lastUpdated: new Date(ms) })
  const v1 = version(clock - 1_000)
  t.same(await cache.get('q', v1, compute(1)).rollup, [{ key: [], count: 1 }])
  t.same(await cache.get('q', v1, compute(2)).rollup, [{ key: [], count: 1 }], 'same version within the TTL: cached')
  t.equal(computed, 1)
  const v2 = version(clock)
  t.same(await cache.get('q', v2, compute(3)).rollup, [{ key: [], count: 3 }], 'a new version recomputes at once')
  t.same(await cache.get('q', v1, compute(4)).rollup, [{ key: [], count: 4 }], 'an older version (cells deleted) recomputes too')
  clock += 6_000
  t.same(await cache.get('q', v1, compute(5)).rollup, [{ key: [], count: 4 }], 'past the TTL the old entry answers…')
  await new Promise((resolve) => setImmediate(resolve))
  t.same(await cache.get('q', v1, compute(6)).rollup, [{ key: [], count: 5 }], '…while one refresh replaces it')
  t.equal(computed, 4)
  const quiet = version(clock - 120_000)
  await cache.get('quiet', quiet, compute(7)).rollup
  clock += 600_000
  t.same(await cache.get('quiet', quiet, compute(8)).rollup, [{ key: [], count: 7 }], 'data quiet for a minute when rolled up stays cached')
  t.equal(computed, 5, 'no refresh of settled data')
  t.same(await cache.get('other', { key: '-:0', changesHeard: 0, lastUpdated: null }, compute(9)).rollup, [{ key: [], count: 9 }], 'keys are separate')
})

t.test('bounded by cells as well as entries: the least recently used go first', async (t) => {
  const cache = createRollupCache({ maxEntries: 10, maxCells: 5 })
  const version = { key: '1:0', changesHeard: 0, lastUpdated: new Date(0) }
  const cells = (n: number) => () => Promise.resolve(Array.from({ length: n }, (_, i) => ({ key: [String(i)], count: 1 })))
  await cache.get('a', version, cells(2)).rollup
  await cache.get('b', version, cells(2)).rollup
  await cache.get('a', version, cells(9)).rollup // a is now the most recently used
  await cache.get('c', version, cells(2)).rollup
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(cache.size, 2, '6 cells over a budget of 5: one entry goes')
  let recomputed = 0
  const counting = () => { recomputed++; return Promise.resolve([]) }
  await cache.get('a', version, counting).rollup
  await cache.get('c', version, counting).rollup
  t.equal(recomputed, 0, 'a and c were kept')
  await cache.get('b', version, counting).rollup
  t.equal(recomputed, 1, 'b, the least recently used, was dropped')
})
