// Housekeeping on an interval for as long as the app runs: a failure is logged, never thrown,
// and the timer never keeps the process alive on its own.
import type { FastifyInstance } from 'fastify'

export function every (app: FastifyInstance, ms: number, what: string, task: () => Promise<unknown>): void {
  const timer = setInterval(() => {
    task().catch((err: unknown) => app.log.warn({ err }, `${what} failed`))
  }, ms)
  timer.unref()
  app.addHook('onClose', async () => clearInterval(timer))
}
