// The prover runner's proving path without a chain, shared by the proving benchmarks (bench:prover, bench:noir): a
// keyring with one registered enclave key, the runner's scheduler and proveTask over a given backend, and tasks as the
// runner tracks them (private inputs encrypted to the market, the data key wrapped to the enclave key). `run` times a
// task from the scheduler's hand-off to its fulfilBatch calldata, what the submitter sends before any RPC.
import { join } from 'node:path'
import { pino } from 'pino'
import { encodeFunctionData, type Hex, keccak256, zeroAddress } from 'viem'
import type { ProverBackend } from '../../enclave/prover/backends/backend.js'
import type { ProverBackendKind } from '../../enclave/prover/backends/registry.js'
import { createChainClock } from '../../enclave/prover/clock.js'
import { proveTask } from '../../enclave/prover/job.js'
import { openKeyring } from '../../enclave/prover/keys.js'
import { createMetrics } from '../../enclave/prover/metrics.js'
import { createScheduler, type TrackedTask } from '../../enclave/prover/scheduler.js'
import { proofMarketplaceAbi } from '../../ts/generated.js'
import { encryptPrivateInputs, wrapDataKey } from '../../ts/privacy.js'
import { type Fulfilment, inlineInputs, requestInputsDigest } from '../../ts/types.js'

const CHAIN_ID = 31337
const MARKETPLACE = '0x00000000000000000000000000000000000c0ffe'
const MARKET_ID = 1n
const REQUESTER = '0x000000000000000000000000000000000000beef'

/** A request's inputs: its public inputs and the plaintext of its private inputs. */
export type BenchInputs = { publicInputs: Hex; privateInputs: Uint8Array }

export async function createBenchRunner(params: {
  directory: string
  backend: ProverBackend
  kind: ProverBackendKind
}) {
  const { backend, kind } = params
  const keyring = await openKeyring(join(params.directory, 'keyring.json'), {
    chainId: CHAIN_ID,
    operator: zeroAddress,
  })
  const key = await keyring.generate(MARKET_ID)
  await keyring.registered(key.signer, { registeredAt: 0, expiresAt: 2 ** 31 })
  const inputUris = { maxBytes: 1 << 20, timeoutMs: 10_000, allowFileUris: false }
  const context = { chainId: CHAIN_ID, marketplace: MARKETPLACE, operator: zeroAddress, keyring, inputUris } as const
  const waiting = new Map<bigint, (calldata: Hex) => void>()
  const scheduler = createScheduler({
    maxConcurrent: 1,
    submitMargin: 5,
    clock: createChainClock(),
    metrics: createMetrics(),
    logger: pino({ level: 'silent' }),
    prove: (task, signal) => proveTask(task, backend, context, signal),
    // What the submitter does with a proof before any RPC: the fulfilBatch calldata.
    onProof: (task, fulfilment: Fulfilment) =>
      waiting.get(task.requestId)?.(
        encodeFunctionData({ abi: proofMarketplaceAbi, functionName: 'fulfilBatch', args: [[fulfilment]] }),
      ),
    onInvalidInputs: (task, error) => {
      throw new Error(`request ${task.requestId}: ${error.message}`)
    },
    onFailed: (task, reason, error) => {
      throw new Error(`request ${task.requestId} failed (${reason})`, { cause: error })
    },
  })
  let next = 1n

  function taskOf(inputs: BenchInputs): TrackedTask {
    const { envelope, dataKey } = encryptPrivateInputs({
      plaintext: inputs.privateInputs,
      context: {
        chainId: CHAIN_ID,
        marketplace: MARKETPLACE,
        marketId: MARKET_ID,
        requester: REQUESTER,
        publicInputsDigest: keccak256(inputs.publicInputs),
      },
      recipients: [key.eciesPublicKey],
    })
    const publicInputs = inlineInputs(inputs.publicInputs)
    const privateInputs = inlineInputs(envelope)
    return {
      requestId: (MARKET_ID << 64n) | next++,
      marketId: MARKET_ID,
      requester: REQUESTER,
      request: {
        refundAddress: zeroAddress,
        maxReward: 1n,
        createdAt: 0,
        matchingExpiry: 0,
        provingTime: 600,
        inputsDigest: requestInputsDigest(publicInputs, privateInputs),
      },
      task: { prover: zeroAddress, price: 1n, deadline: Math.floor(Date.now() / 1000) + 3_600, compute: 1 },
      publicInputs,
      privateInputs,
      inputKey: wrapDataKey(dataKey, key.eciesPublicKey),
      backend: kind,
      assignedAt: 0,
      byMatcher: true,
      state: 'queued',
      attempts: 0,
      abort: new AbortController(),
    }
  }

  /** Milliseconds from handing the task to the scheduler to its fulfilBatch calldata. */
  async function run(inputs: BenchInputs): Promise<number> {
    const task = taskOf(inputs)
    const started = performance.now()
    await new Promise<Hex>((resolve) => {
      waiting.set(task.requestId, resolve)
      scheduler.add(task)
    })
    const elapsed = performance.now() - started
    waiting.delete(task.requestId)
    return elapsed
  }

  return { run, stop: () => scheduler.stop(), marketId: MARKET_ID }
}
