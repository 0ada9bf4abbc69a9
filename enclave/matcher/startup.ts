import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import { type Address, isAddressEqual } from 'viem'
import { decodeCairnError } from '../../ts/errors.js'
import { proofMarketplaceAbi } from '../../ts/generated.js'
import { checkChainId } from '../../ts/service/chain.js'
import { bookStats } from './book.js'
import type { ChainView } from './chain.js'
import type { MatcherClients } from './clients.js'
import type { MatcherConfig } from './config.js'
import { MatcherOperatorError } from './keys.js'

/*
 * The start-up steps before the first poll, in order: the endpoint serves the configured chain (refused otherwise),
 * the marketplace takes its matchers from this TeeRegistry (warned otherwise: its batches would be refused), and the
 * submitter has no transaction pending; then the key is attested and the book built, each retried a few times.
 */

const SUBMITTER_IDLE_WAIT_MS = 60_000
const STARTUP_ATTEMPTS = 5

/** Stops a start against the wrong chain; warns when the marketplace's matcher authority is another registry. */
export async function checkChain(
  ports: { chainId: () => Promise<number>; matcherAuthority: () => Promise<Address> },
  expected: { chainId: number; teeRegistry: Address },
  log: Logger,
): Promise<void> {
  checkChainId(await ports.chainId(), expected.chainId, { rpcFlag: '--rpc-url', expectedFrom: '--chain-id' })
  const authority = await ports.matcherAuthority()
  if (!isAddressEqual(authority, expected.teeRegistry)) {
    log.warn(
      { authority, teeRegistry: expected.teeRegistry },
      'the marketplace does not take its matchers from this TeeRegistry: its batches will be refused',
    )
  }
}

/** The submitter's transactions: mined (latest nonce) and all it sent (pending nonce). */
export type NonceCounts = { mined: number; all: number }

/** Whether to go on at start: the submitter is idle, still busy (wait), or busy too long (go on anyway). */
export function submitterIdleStep(counts: NonceCounts, waitedMs: number): 'idle' | 'wait' | 'give-up' {
  if (counts.all <= counts.mined) return 'idle'
  return waitedMs > SUBMITTER_IDLE_WAIT_MS ? 'give-up' : 'wait'
}

/** A crashed predecessor may have left an assign pending: let it land before rebuilding, or it could repeat. */
export async function awaitSubmitterIdle(
  ports: { submitter: Address; counts: () => Promise<NonceCounts>; pause: () => Promise<void>; now?: () => number },
  log: Logger,
): Promise<void> {
  const now = ports.now ?? Date.now
  const started = now()
  for (;;) {
    const counts = await ports.counts()
    const step = submitterIdleStep(counts, now() - started)
    const fields = { submitter: ports.submitter, pending: counts.all - counts.mined }
    if (step === 'idle') return
    if (step === 'give-up') return log.warn(fields, 'submitter still has pending transactions; going on')
    log.info(fields, 'waiting for the submitter’s pending transactions')
    await ports.pause()
  }
}

/** Runs a start-up step, retrying with backoff; an operator not admitted is thrown at once (retrying cannot help). */
export async function retrying<T>(
  what: string,
  run: () => Promise<T>,
  options: { log: Logger; pause?: (ms: number) => Promise<unknown>; attempts?: number },
): Promise<T> {
  const pause = options.pause ?? ((ms: number) => sleep(ms))
  for (let attempt = 1; ; attempt++) {
    try {
      return await run()
    } catch (error) {
      // Retrying cannot admit the operator: say what to fix at once.
      if (attempt >= (options.attempts ?? STARTUP_ATTEMPTS) || error instanceof MatcherOperatorError) throw error
      options.log.warn({ err: decodeCairnError(error) ?? error, attempt }, `${what} failed; retrying`)
      await pause(Math.min(10_000, 500 * 2 ** attempt))
    }
  }
}

/** Start-up in order: the chain checked, the submitter idle, the key attested, the book built (the last two retried). */
export async function startUp(
  clients: MatcherClients,
  config: Pick<MatcherConfig, 'chainId' | 'rpcUrl' | 'pollInterval'>,
  steps: { attest: () => Promise<void>; initialSync: () => Promise<void> },
  log: Logger,
): Promise<void> {
  const { client } = clients
  const address = clients.submitter.wallet.account.address
  const matcherAuthority = () =>
    client.readContract({
      address: clients.deployment.contracts.proofMarketplace,
      abi: proofMarketplaceAbi,
      functionName: 'matcherAuthority',
    })
  const teeRegistry = clients.attestation.contracts.teeRegistry
  await checkChain({ chainId: () => client.getChainId(), matcherAuthority }, { ...config, teeRegistry }, log)
  const counts = async (): Promise<NonceCounts> => {
    const [mined, all] = await Promise.all([
      client.getTransactionCount({ address, blockTag: 'latest' }),
      client.getTransactionCount({ address, blockTag: 'pending' }),
    ])
    return { mined, all }
  }
  await awaitSubmitterIdle({ submitter: address, counts, pause: () => sleep(config.pollInterval) }, log)
  await retrying('attest', steps.attest, { log })
  await retrying('initial sync', steps.initialSync, { log })
}

/** The one line that says the matcher is up: where, who, and the book it starts from. */
export function logReady(log: Logger, url: string, clients: MatcherClients, view: ChainView): void {
  const book = bookStats(view.book)
  log.info(
    {
      url,
      metrics: `${url}/metrics`,
      eciesPublicKey: clients.key.eciesPublicKey,
      submitter: clients.submitter.wallet.account.address,
      block: view.block?.number,
      open: book.open,
      provers: book.provers,
    },
    'ready',
  )
}
