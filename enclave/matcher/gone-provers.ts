import type { Logger } from 'pino'
import type { Address } from 'viem'
import type { Metrics } from './metrics.js'

/*
 * Provers the chain shows gone (a task unanswered past its proving time, liveness.ts), as the rounds see them: each
 * change is logged once, when a prover starts or stops being left out, not at every round.
 */

export type GoneProver = { prover: Address; since: number }

/** Who went since the last round (with since when) and who came back, by lowercase address. */
export function goneChanges(
  previous: ReadonlyMap<string, number>,
  gone: readonly GoneProver[],
): { current: Map<string, number>; went: GoneProver[]; back: string[] } {
  const current = new Map(gone.map(({ prover, since }) => [prover.toLowerCase(), since]))
  return {
    current,
    went: gone.filter(({ prover }) => !previous.has(prover.toLowerCase())),
    back: [...previous.keys()].filter((prover) => !current.has(prover)),
  }
}

/** Notes each round's gone provers: logs the changes and sets the gauge. */
export function createGoneProvers(params: {
  metrics: Pick<Metrics, 'proversGone'>
  log: Logger
}): (gone: readonly GoneProver[]) => void {
  let previous = new Map<string, number>()
  return (gone) => {
    const { current, went, back } = goneChanges(previous, gone)
    for (const { prover, since } of went) {
      params.log.warn(
        { prover, since },
        'prover left a task unanswered past its proving time: not assigned more until it fulfils, rejects inputs or announces itself on chain',
      )
    }
    for (const prover of back) params.log.info({ prover }, 'prover showed a sign of life on chain: assigned again')
    previous = current
    params.metrics.proversGone.set(current.size)
  }
}
