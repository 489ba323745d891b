// What the benchmarks share: a database of their own, and the service in a child process.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import pg from 'pg'

export interface BenchDatabase { name: string, url: string, drop (): Promise<void> }

/** A new, empty database next to `adminUrl`'s, dropped by `drop()`. */
export async function freshDatabase (adminUrl: string, prefix = 'mhx_bench'): Promise<BenchDatabase> {
  const name = `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 10)}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    name,
    url: url.toString(),
    async drop () {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await admin.end()
    }
  }
}

export interface BenchServer { url: string, child: ChildProcess, readyMs: number, stop (): Promise<void> }

/** `npm start`'s entry on 127.0.0.1:port, resolved once /health/ready answers 200. */
export async function startServer (env: Record<string, string>, port: number): Promise<BenchServer> {
  const started = performance.now()
  // BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=scratch/prof": profile the server under load.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/main.ts'], {
    // Benchmarks measure the read and write paths, not the gates around them: rate limits off, reads by grants alone.
    env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', MHX_RATE_API: '0', MHX_RATE_TOKEN: '0', MHX_CONSENT: 'grants', ...env },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    if (child.exitCode !== null) return
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
  }
  for (;;) {
    try {
      if ((await fetch(`${url}/health/ready`)).status === 200) return { url, child, readyMs: performance.now() - started, stop }
    } catch {}
    if (child.exitCode !== null) throw new Error('server exited before it was ready')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** CPU seconds (user + system) used so far by the processes whose command name is `comm`, or by `pid`. */
export function cpuSeconds (select: { comm: string } | { pid: number }): number {
  const pids = 'pid' in select ? [String(select.pid)] : readdirSync('/proc').filter((d) => /^\d+$/.test(d))
  let ticks = 0
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      const comm = stat.slice(stat.indexOf('(') + 1, close)
      if ('comm' in select && comm !== select.comm) continue
      const fields = stat.slice(close + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {}
  }
  return ticks / 100
}

/**
 * Fills `cells` straight from N synthetic records (the read path only touches cells): skewed
 * values over 24 months of 2025–2026 and seven countries, random key sums. Returns the cells made.
 */
export async function fillCells (client: pg.Client, records: number): Promise<number> {
  const pick = (values: string[]) => `(ARRAY[${values.map((v) => `'${v}'`).join(',')}])[1 + floor(power(random(), 2) * ${values.length})::int]`
  const batch = 1_000_000
  for (let done = 0; done < records; done += batch) {
    const n = Math.min(batch, records - done)
    await client.query(`
      INSERT INTO cells (period, country, subnational_area, country_of_origin, migration_status, migration_stage, sex, age_band,
        encounter, condition_group, screening_context, screening_consequence, insurance, outcome, count, key_sum)
      SELECT period, country, '_Z', origin, status, stage, sex, age, encounter, cgroup, sctx, scons, insurance, outcome, count(*),
        floor(random() * 4294967296)::bigint
      FROM (SELECT
        to_char(make_date(2025 + (m / 12), (m % 12) + 1, 1), 'YYYY-MM') AS period,
        ${pick(['RUS', 'KAZ', 'TUR', 'UZB', 'KGZ', 'TJK', 'TKM'])} AS country,
        ${pick(['UZB', 'TJK', 'KGZ', 'KAZ', 'TKM', 'AFG', 'UKR', 'unknown'])} AS origin,
        ${pick(['labour_migrant', 'family_member', 'returnee', 'student', 'refugee_or_asylum_seeker', 'unknown', 'stateless', 'other'])} AS status,
        ${pick(['destination', 'return', 'transit', 'pre_departure'])} AS stage,
        ${pick(['male', 'female', 'unknown', 'other'])} AS sex,
        ${pick(['25-29', '30-34', '20-24', '35-39', '40-44', '15-19', '45-49', '50-54', '0-4', '5-9', '10-14', '55-59', '60-64', '65-69', '70-74', '75-79', '80+', 'unknown'])} AS age,
        ${pick(['primary_care', 'emergency_care', 'occupational_injury', 'screening', 'inpatient', 'antenatal_care', 'delivery', 'immunization', 'mental_health_psychosocial', 'postnatal_care', 'other'])} AS encounter,
        ${pick(['_Z', 'injury', 'respiratory', 'tb', 'other', 'maternal', 'hiv', 'cardiovascular', 'diabetes', 'mental_health', 'viral_hepatitis', 'sti', 'covid19'])} AS cgroup,
        ${pick(['_Z', '_Z', '_Z', 'work_permit', 'arrival', 'pre_departure', 'voluntary'])} AS sctx,
        ${pick(['_Z', '_Z', '_Z', 'none', 'referral', 'permit_denied', 'removal'])} AS scons,
        ${pick(['none', 'public', 'unknown', 'private'])} AS insurance,
        ${pick(['_Z', 'treated', 'referred', 'unknown', 'denied_care', 'died'])} AS outcome
        FROM (SELECT floor(random() * 24)::int AS m FROM generate_series(1, ${n})) g) r
      GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14
      ON CONFLICT ON CONSTRAINT cells_pkey DO UPDATE SET count = cells.count + EXCLUDED.count`)
    process.stdout.write(`  ${done + n} records\n`)
  }
  await client.query('ANALYZE cells')
  await client.query('ANALYZE cell_margins')
  const { rows } = await client.query('SELECT count(*)::int AS cells, sum(count)::bigint AS records FROM cells')
  return rows[0].cells
}

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/** Registers a reader with `grants` by SQL and returns an access token from the running service. */
export async function readerToken (db: pg.Client, serviceUrl: string, id: string, grants: string[], country: string | null = null): Promise<string> {
  const pair = await generateKeyPair('ES256', { extractable: true })
  const kid = `${id}-1`
  const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256' }
  await db.query(`INSERT INTO partners (id, name, roles, country, jwks) VALUES ($1, $1, ARRAY['reader'], $2, $3)`, [id, country, JSON.stringify({ keys: [jwk] })])
  await db.query(`INSERT INTO grants (partner_id, region) SELECT $1, u FROM unnest($2::text[]) u`, [id, grants])
  const assertion = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid }).setIssuer(id).setSubject(id)
    .setAudience(`${serviceUrl}/v1/oauth/token`).setIssuedAt().setExpirationTime('4m').setJti(randomUUID()).sign(pair.privateKey)
  const res = await fetch(`${serviceUrl}/v1/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: assertion })
  })
  if (res.status !== 200) throw new Error(`token for ${id}: ${res.status} ${await res.text()}`)
  return (await res.json() as { access_token: string }).access_token
}

/** Stops what a benchmark started: the service, its client, its database and data directory. */
export async function cleanUp (parts: { server?: BenchServer, db: pg.Client, database: BenchDatabase, dataDir: string }): Promise<void> {
  await parts.server?.stop()
  await parts.db.end().catch(() => {})
  await parts.database.drop()
  rmSync(parts.dataDir, { recursive: true, force: true })
}
