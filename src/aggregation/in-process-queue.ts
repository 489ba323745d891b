// Without REDIS_URL: jobs are handed to a processor in this process. The outbox sweep still
// covers what is lost (a crash between commit and processing), exactly as with BullMQ.
import { aggregationJobId, type AggregationJob, type AggregationQueue } from './queue.js'

export type JobHandler = (job: AggregationJob) => Promise<void>

export interface InProcessQueue extends AggregationQueue {
  /** Starts processing with `handler` (the worker role); jobs enqueued before wait for it. */
  process (handler: JobHandler): void
  /** Resolves when every job handed over so far is done (tests, shutdown). */
  drain (): Promise<void>
}

export function createInProcessQueue (): InProcessQueue {
  let handler: JobHandler | undefined
  const waiting: AggregationJob[] = []
  const pendingIds = new Set<string>()
  let running: Promise<void> = Promise.resolve()
  let closed = false

  function pump (): void {
    if (!handler) return
    const run = handler
    while (waiting.length > 0) {
      const job = waiting.shift()!
      running = running.then(() => run(job)).catch(() => {}).finally(() => pendingIds.delete(aggregationJobId(job)))
    }
  }

  async function enqueue (job: AggregationJob): Promise<void> {
    if (closed) throw new Error('queue closed')
    const id = aggregationJobId(job)
    // Same de-duplication as a BullMQ jobId: a job already waiting is not added twice.
    if (pendingIds.has(id)) return
    pendingIds.add(id)
    waiting.push(job)
    pump()
  }

  return {
    kind: 'in-process',
    enqueue,
    requeue: enqueue,
    async depth () { return pendingIds.size },
    async ready () { return !closed },
    process (next) {
      handler = next
      pump()
    },
    async drain () {
      let seen: Promise<void> | undefined
      while (seen !== running) {
        seen = running
        await running
      }
    },
    async close () {
      closed = true
      await running
    }
  }
}
