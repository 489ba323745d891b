// A small closed-loop HTTP load generator for the benchmarks: `connections` keep-alive clients
// each send the next request as soon as the last one answered, for `seconds`.
import http from 'node:http'

export interface LoadResult {
  requests: number
  errors: number
  seconds: number
  rps: number
  p50: number
  p99: number
  /** Answers by HTTP status (a run that only measured 429s shows it here). */
  statuses: Record<number, number>
  /** Bytes of the answers' bodies (as sent: compressed when the server compressed them). */
  bytes: number
}

export interface LoadOptions {
  url: string
  connections: number
  seconds: number
  method?: string
  /** Headers and body of request n (lets each request carry its own assertion). */
  request?: (n: number) => { headers?: Record<string, string>, body?: string }
  expectStatus?: number
}

export async function load (options: LoadOptions): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections })
  const target = new URL(options.url)
  const latencies: number[] = []
  let errors = 0
  let bytes = 0
  const statuses: Record<number, number> = {}
  let n = 0
  const deadline = performance.now() + options.seconds * 1000
  const started = performance.now()

  function once (): Promise<void> {
    const { headers = {}, body } = options.request?.(n++) ?? {}
    const t0 = performance.now()
    return new Promise((resolve) => {
      const req = http.request({
        agent,
        hostname: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: options.method ?? 'GET',
        headers: body ? { ...headers, 'content-length': String(Buffer.byteLength(body)) } : headers
      }, (res) => {
        res.on('data', (chunk: Buffer) => { bytes += chunk.length })
        res.on('end', () => {
          const status = res.statusCode ?? 0
          statuses[status] = (statuses[status] ?? 0) + 1
          if (status !== (options.expectStatus ?? 200)) errors++
          latencies.push(performance.now() - t0)
          resolve()
        })
      })
      req.on('error', () => { errors++; resolve() })
      if (body) req.write(body)
      req.end()
    })
  }

  await Promise.all(Array.from({ length: options.connections }, async () => {
    while (performance.now() < deadline) await once()
  }))
  const seconds = (performance.now() - started) / 1000
  agent.destroy()
  latencies.sort((a, b) => a - b)
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN
  return { requests: latencies.length, errors, seconds, rps: latencies.length / seconds, p50: at(0.5), p99: at(0.99), statuses, bytes }
}

export function describe (name: string, r: LoadResult): string {
  const statuses = Object.entries(r.statuses).map(([status, n]) => `${n} × ${status}`).join(', ')
  return `${name}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms (${r.requests} requests, ${r.errors} errors; ${statuses})`
}
