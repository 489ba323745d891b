// The embedded pass's list (test/passes.ts): a test that touches the driver or a queue cannot be left
// out of it by forgetting a tag, and the files tagged @embedded are the ones it runs.
// @embedded: the embedded pass's own list, checked where it runs
import t from 'tap'
import { classify, embeddedPass, testFiles, untagged } from './passes.js'

t.test('every test file of the tree that touches the driver or a queue says which pass it belongs to', async (t) => {
  const files = testFiles()
  t.ok(files.length > 50, `${files.length} test files found`)
  t.same(untagged(files).map((f) => f.file), [])
  const embedded = embeddedPass(files)
  t.ok(embedded.includes('test/service.test.ts'), 'the start on the embedded default is in the embedded pass')
  t.ok(embedded.includes('test/docs/readme-walk.test.ts'), 'the README walk (a first start on the defaults) is in the embedded pass')
  t.notOk(embedded.includes('test/release/protection.test.ts'), 'a test of the release rules alone is not')
})

t.test('what counts as touching the driver or a queue, and what a tag is', async (t) => {
  const untaggedFile = (source: string) => untagged([classify('x.test.ts', source)]).length === 1
  for (const source of [
    'import { migrate } from \'../../src/db/migrate.js\'',
    'import { connectPglite } from \'../../src/db/connect.js\'',
    'const database = await testDatabase(t)',
    'import { startService } from \'../src/service.js\'',
    'import { createInProcessQueue } from \'../../src/aggregation/in-process-queue.js\'',
    'import type { AggregationJob } from \'../../src/aggregation/queue.js\'',
    'import { startAggregation } from \'../../src/aggregation/worker-runtime.js\'',
    'import { createBullmqDeliveryQueue } from \'../../src/notifications/queue.js\'',
    'import { Redis } from \'ioredis\'',
    'import { processWorld } from \'../aggregation/redis.js\''
  ]) t.ok(untaggedFile(source), `untagged: ${source}`)
  t.notOk(untaggedFile('import { rows } from \'../../src/db/connect.js\'\nconst hub = await buildTestHub(t)'), 'queries through the test hub alone need no tag')
  t.notOk(untaggedFile('// @embedded: the bulk writer\nconst database = await testDatabase(t)'), 'tagged @embedded')
  t.notOk(untaggedFile('// @server-only: needs Redis\nimport { Redis } from \'ioredis\''), 'tagged @server-only')
  t.ok(untaggedFile('// @embedded:\nconst database = await testDatabase(t)'), 'a tag without its reason is no tag')
  t.ok(untaggedFile('// @embedded: a\n// @server-only: b\n'), 'both tags at once')
  t.same(embeddedPass([classify('a.test.ts', '// @embedded: why\n'), classify('b.test.ts', '// @server-only: why\n'), classify('c.test.ts', '')]), ['a.test.ts'])
})
