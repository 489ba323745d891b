// Group work of concurrent requests into one database round trip at a time.

export interface Batcher<T, R> {
  /** Resolves with this item's result from the next run that starts after it was queued. */
  queue (item: T): Promise<R>
  /** Waits until nothing is queued or running. */
  drain (): Promise<void>
  /** Runs so far (to observe the grouping in tests and benchmarks). */
  readonly runs: number
}

/**
 * One run at a time over everything queued (at most `maxBatch` items): items that arrive while a
 * run is under way go together into the next one. An item never joins a run already started, so
 * what the run reads is at least as new as the moment the item was queued.
 */
export function createBatcher<T, R> (run: (items: T[]) => Promise<R[]>, maxBatch = 500): Batcher<T, R> {
  interface Waiting { item: T, resolve: (result: R) => void, reject: (err: unknown) => void }
  let waiting: Waiting[] = []
  let running: Promise<void> | null = null
  let runs = 0

  async function runAll (): Promise<void> {
    while (waiting.length > 0) {
      const batch = waiting.slice(0, maxBatch)
      waiting = waiting.slice(batch.length)
      try {
        const results = await run(batch.map((w) => w.item))
        runs++
        batch.forEach((w, i) => w.resolve(results[i]))
      } catch (err) {
        for (const w of batch) w.reject(err)
      }
    }
  }

  function start (): void {
    running ??= runAll().finally(() => { running = null; if (waiting.length > 0) start() })
  }

  return {
    queue (item) {
      return new Promise<R>((resolve, reject) => {
        waiting.push({ item, resolve, reject })
        start()
      })
    },
    async drain () {
      while (running) await running
    },
    get runs () { return runs }
  }
}
