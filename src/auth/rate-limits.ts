// Request budgets (@fastify/rate-limit): per client and per address at the token endpoint, per
// partner elsewhere. Counted in Redis when the process has one, so every API replica shares them.
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Redis } from 'ioredis'

export const RATE_WINDOW_MS = 60_000
/** An address may fail this many times more token requests than one client may make: many partners can share a gateway. */
export const TOKEN_FAILURES_PER_CLIENT_LIMIT = 10

/** Counts one request against `key`: undefined while within the budget, else the seconds to wait. */
export type RateLimiter = (request: FastifyRequest, key: string) => Promise<number | undefined>

export interface RateLimits {
  /** MHX_RATE_TOKEN per claimed client: keys `client:<id>`. */
  token: RateLimiter
  /** Failed token requests per address (`address:<ip>`): ten times MHX_RATE_TOKEN, so one client's bad assertions do not hold back its neighbours. */
  tokenFailures: RateLimiter
  /** MHX_RATE_API: keys `partner:<id>`, and `address:<ip>` for requests that fail authentication. */
  api: RateLimiter
}

export interface RateLimitSettings {
  tokenPerMinute: number
  apiPerMinute: number
  /** Shared counters (every replica on one Redis); without it, counters of this process only. */
  redis?: Redis
  /** Redis key prefix, so that several services or test runs can share one Redis. */
  prefix: string
}

const unlimited: RateLimiter = async () => undefined

/** A Redis connection for the counters: commands fail fast while Redis is down (the limits then let requests through). */
export function connectRateLimitRedis (url: string): Redis {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000 })
  redis.on('error', () => {})
  return redis
}

/** Registers the plugin on `app` (no route is limited by itself) and returns the two limiters. */
export async function createRateLimits (app: FastifyInstance, settings: RateLimitSettings): Promise<RateLimits> {
  const keys = new WeakMap<FastifyRequest, string>()
  await app.register(rateLimit, {
    global: false,
    // An unreachable Redis must not take the API down with it: the request goes through uncounted.
    skipOnError: true,
    ...(settings.redis ? { redis: settings.redis } : {}),
    nameSpace: `${settings.prefix}:rate:`,
    cache: 50_000
  })

  function limiter (perMinute: number, name: string): RateLimiter {
    if (perMinute === 0) return unlimited
    const count = app.createRateLimit({
      max: perMinute,
      timeWindow: RATE_WINDOW_MS,
      keyGenerator: (request) => `${name}:${keys.get(request)}`
    })
    return async (request, key) => {
      keys.set(request, key)
      const result = await count(request)
      if (result.isAllowed || !result.isExceeded) return undefined
      return Math.max(1, result.ttlInSeconds)
    }
  }

  return {
    token: limiter(settings.tokenPerMinute, 'token'),
    tokenFailures: limiter(settings.tokenPerMinute * TOKEN_FAILURES_PER_CLIENT_LIMIT, 'token-failures'),
    api: limiter(settings.apiPerMinute, 'api')
  }
}
