// The embedded database on disk: nobody but the service's user reads it.
// @embedded: the embedded database's files on disk
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { connectPglite } from '../../src/db/connect.js'
import { migrate } from '../../src/db/migrate.js'

t.test('MHX_DATA_DIR is 0700 and no file of the embedded database is open to group or others', async (t) => {
  const parent = mkdtempSync(join(tmpdir(), 'mhx-files-'))
  t.teardown(() => rmSync(parent, { recursive: true, force: true }))
  const dataDir = join(parent, 'data')
  // As an ordinary process would: a umask that lets everyone read.
  const umask = process.umask(0o000)
  t.teardown(() => process.umask(umask))
  const database = await connectPglite(dataDir)
  await migrate(database)
  await database.close()

  t.equal(statSync(dataDir).mode & 0o777, 0o700)
  const open = []
  let files = 0
  for (const entry of readdirSync(dataDir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name)
    files++
    if (statSync(path).mode & 0o077) open.push(`${path} ${(statSync(path).mode & 0o777).toString(8)}`)
  }
  t.ok(files > 100, `${files} files checked`)
  t.same(open, [], 'nothing readable or writable by group or others')
})
