// Giving back the memory a large submission used. Its body, records and COPY text are garbage once
// it is answered, but V8 collects old-space garbage only when the heap grows again: an idle API kept
// 0.9 GB after a 60 MB push. A full collection, asked for through the inspector protocol inside this
// process (HeapProfiler.collectGarbage: no port is opened, no flag needed), returns it to the system
// within seconds (bench/RESULTS.md, "Faults"). It pauses the process for a fraction of a second, so
// it runs only after large submissions, a second after the last one, at most once per interval.
import { Session } from 'node:inspector'

export interface HeapTrimmer {
  /** A large submission was handled: collect its garbage once it has been answered. */
  soon (): void
  close (): void
}

export interface HeapTrimmerOptions {
  /** Wait after the last large submission (its answer is sent and its request released meanwhile). */
  delayMs?: number
  /** At most one collection per this long. */
  minIntervalMs?: number
}

export function createHeapTrimmer (options: HeapTrimmerOptions = {}): HeapTrimmer {
  const delayMs = options.delayMs ?? 1_000
  const minIntervalMs = options.minIntervalMs ?? 10_000
  let session: Session | undefined
  let timer: NodeJS.Timeout | undefined
  let last = 0
  let broken = false

  function collect (): void {
    timer = undefined
    last = Date.now()
    try {
      if (!session) {
        session = new Session()
        session.connect()
      }
      session.post('HeapProfiler.collectGarbage', () => {})
    } catch {
      // an inspector that cannot be reached (a build without it): the garbage goes at the next GC
      broken = true
    }
  }

  return {
    soon () {
      if (broken) return
      clearTimeout(timer)
      timer = setTimeout(collect, Math.max(delayMs, last + minIntervalMs - Date.now()))
      timer.unref()
    },
    close () {
      clearTimeout(timer)
      session?.disconnect()
      session = undefined
    }
  }
}
