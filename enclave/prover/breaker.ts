/**
 * The circuit breaker: a slash of this prover (TaskSlashed) means it missed a deadline, which a healthy runner does
 * not. It trips on the first slash seen in a block after the last reset and stays tripped across restarts (the state
 * is a small JSON file) until the operator resets it: POST /reset on the runner's HTTP server (with the operator
 * token), or deleting the file while the runner is stopped. A missing file counts as a reset at the chain head of the next
 * start, so slashes older than the runner's first start never trip it.
 */
import { rename, writeFile } from 'node:fs/promises'
import { z } from 'zod'
import { readTextIfExists } from '../../ts/text-file.js'

const stateFile = z.object({
  tripped: z.boolean(),
  /** Slashes in blocks up to this one were seen before the last reset. */
  resetBlock: z.string().regex(/^\d+$/),
  trip: z
    .object({ requestId: z.string(), blockNumber: z.string(), transactionHash: z.string(), at: z.string() })
    .optional(),
})

export type BreakerTrip = { requestId: bigint; blockNumber: bigint; transactionHash: string }

export type Breaker = {
  readonly path: string
  tripped(): boolean
  /** Why it tripped, while tripped. */
  trip(): BreakerTrip | undefined
  /** Whether a slash in `blockNumber` counts: it happened after the last reset. */
  counts(blockNumber: bigint): boolean
  /** Trips (persisted); false when it already was. */
  open(trip: BreakerTrip): Promise<boolean>
  /** Resets at `blockNumber` (persisted): slashes up to that block are forgiven; false when it was not tripped. */
  reset(blockNumber: bigint): Promise<boolean>
}

/** Loads the breaker at `path`; a missing file starts it closed, reset at `head`. */
export async function loadBreaker(path: string, head: bigint): Promise<Breaker> {
  let state = await readState(path)
  if (state === undefined) {
    state = { tripped: false, resetBlock: head.toString() }
    await writeState(path, state)
  }
  let current = state
  const save = async (next: z.infer<typeof stateFile>) => {
    await writeState(path, next)
    current = next
  }
  return {
    path,
    tripped: () => current.tripped,
    trip: () =>
      current.tripped && current.trip
        ? {
            requestId: BigInt(current.trip.requestId),
            blockNumber: BigInt(current.trip.blockNumber),
            transactionHash: current.trip.transactionHash,
          }
        : undefined,
    counts: (blockNumber) => blockNumber > BigInt(current.resetBlock),
    async open(trip) {
      if (current.tripped) return false
      await save({
        tripped: true,
        resetBlock: current.resetBlock,
        trip: {
          requestId: trip.requestId.toString(),
          blockNumber: trip.blockNumber.toString(),
          transactionHash: trip.transactionHash,
          at: new Date().toISOString(),
        },
      })
      return true
    },
    async reset(blockNumber) {
      const wasTripped = current.tripped
      const resetBlock = blockNumber > BigInt(current.resetBlock) ? blockNumber : BigInt(current.resetBlock)
      await save({ tripped: false, resetBlock: resetBlock.toString() })
      return wasTripped
    },
  }
}

async function readState(path: string): Promise<z.infer<typeof stateFile> | undefined> {
  const text = await readTextIfExists(path)
  if (text === undefined) return undefined
  const parsed = stateFile.safeParse(JSON.parse(text))
  if (!parsed.success) throw new Error(`${path}: ${z.prettifyError(parsed.error)}`)
  return parsed.data
}

async function writeState(path: string, state: z.infer<typeof stateFile>): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`
  await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`)
  await rename(temporary, path)
}
