// End-to-end gas of the Cairn hot paths, as receipts report it (21 000 base + calldata + execution), on a fresh
// anvil with the real deployment and a real Groth16 proof. The forge gas snapshot (npm run gas) is the
// execution-only view; this is what a transaction actually costs.
//   npm run bench:gas   → prints a markdown table, writes gas/bench-receipts.json (BENCH_PORT=<n> pins anvil's port)
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type Address,
  decodeFunctionResult,
  encodeFunctionData,
  type Hex,
  maxUint256,
  parseEther,
  type TransactionReceipt,
} from 'viem'
import { freePort } from '../../ts/devnet/anvil.js'
import { repoRoot } from '../../ts/devnet/paths.js'
import {
  groth16MarketParams,
  preimageRequest,
  preimageStatement,
  type ScheduleOptions,
} from '../../ts/devnet/scenario.js'
import { advanceTime, type Devnet, startDevnet } from '../../ts/devnet/stack.js'
import {
  type CreatedRequest,
  cancel,
  chainTime,
  claim,
  createMarket,
  createRequest,
  deposit,
  devTokenAbi,
  eventsOf,
  type FulfilParams,
  fastAssignmentTypedData,
  fulfil,
  fulfilBatch,
  groth16BatchVerifierAbi,
  iSignedFulfilmentsAbi,
  iSignedRequestsAbi,
  list,
  mintDevToken,
  proofContextOf,
  proofMarketplaceAbi,
  provePoseidonPreimage,
  type RequestParams,
  register,
  type SignedRequestWithSignature,
  signAssignments,
  signRequest,
  slash,
  stake,
  submitAssignments,
  type TaskRecords,
  withListedTerms,
  write,
} from '../../ts/index.js'

const BATCH = 10
const PROVING_TIME = 600
const FALLBACK_DELAY = 30
const MAX_REWARD = parseEther('40')

type Row = {
  operation: string
  gasUsed: bigint
  requests: number
  note: string
}

function row(operation: string, receipt: TransactionReceipt, requests: number, note: string): Row {
  return { operation, gasUsed: receipt.gasUsed, requests, note }
}

/** Calldata gas at 4 per zero byte and 16 per other byte (EIP-2028), to separate it from execution. */
function calldataGas(data: Hex): bigint {
  let gas = 0n
  for (let i = 2; i < data.length; i += 2) gas += data.slice(i, i + 2) === '00' ? 4n : 16n
  return gas
}

async function setup(devnet: Devnet) {
  const { actors, deployment } = devnet
  const prover = actors.prover.wallet.account.address
  const requester = actors.requester.wallet.account.address
  const { marketId } = await createMarket(
    actors.deployer,
    groth16MarketParams(deployment, { fallbackDelay: FALLBACK_DELAY }),
  )
  await mintDevToken(actors.prover, deployment.contracts.stakeToken, prover, parseEther('10000'))
  await register(actors.prover, { capacity: 64 })
  await stake(actors.prover, { amount: parseEther('10000') })
  await list(actors.prover, { marketId, price: parseEther('25'), provingTime: PROVING_TIME })
  await mintDevToken(actors.requester, deployment.contracts.paymentToken, requester, parseEther('1000000'))
  // One unlimited approval up front, so no createRequest below pays for (or skips) an allowance write.
  await write(actors.requester, {
    address: deployment.contracts.paymentToken,
    abi: devTokenAbi,
    functionName: 'approve',
    args: [deployment.contracts.proofMarketplace, maxUint256],
  })
  return { marketId, prover, requester }
}

async function assign(devnet: Devnet, requests: readonly CreatedRequest[], prover: Address) {
  const batch = await signAssignments(devnet.actors.matcher, {
    assignments: await withListedTerms(
      devnet.reader,
      requests.map(({ requestId, request }) => ({ requestId, prover, request })),
    ),
    validUntil: (await chainTime(devnet.reader)) + 300n,
  })
  const outcome = await submitAssignments(devnet.actors.bystander, batch)
  if (outcome.assigned.length !== requests.length)
    throw new Error(`assignment skipped: ${outcome.skipped[0]?.reason.message}`)
  return outcome
}

/**
 * Signs `nonces.length` requests off chain (the requester's EIP-712 SignedRequest), has the matcher sign them as one
 * batch of ordinary Assignments under their derived ids, and sends assignSigned: the request is recorded and assigned
 * in that one transaction. Returns the receipt and each task's records, as RequestCreated and TaskAssigned give them.
 */
async function assignSigned(
  devnet: Devnet,
  prover: Address,
  nonces: readonly bigint[],
  params: () => Promise<RequestParams>,
): Promise<{ receipt: TransactionReceipt; tasks: TaskRecords[] }> {
  const { actors, reader, deployment } = devnet
  const signed: SignedRequestWithSignature[] = []
  for (const nonce of nonces) signed.push(await signRequest(actors.requester, await params(), nonce))
  const batch = await signAssignments(actors.matcher, {
    assignments: await withListedTerms(
      reader,
      signed.map(({ requestId }) => ({ requestId, prover })),
    ),
    validUntil: (await chainTime(reader)) + 300n,
  })
  const matches = batch.assignments.map(({ price, provingTime }, i) => {
    const item = signed[i]
    if (!item) throw new Error('batch and signed requests differ')
    return { prover, price, provingTime, request: item.request, signature: item.signature }
  })
  const marketplace = deployment.contracts.proofMarketplace
  const receipt = await write(actors.bystander, {
    address: marketplace,
    abi: iSignedRequestsAbi,
    functionName: 'assignSigned',
    args: [matches, [], batch.validUntil, batch.signature],
  })
  const created = eventsOf(receipt, marketplace, proofMarketplaceAbi, 'RequestCreated')
  const assigned = eventsOf(receipt, marketplace, proofMarketplaceAbi, 'TaskAssigned')
  if (assigned.length !== nonces.length || created.length !== nonces.length) {
    const [skip] = eventsOf(receipt, marketplace, proofMarketplaceAbi, 'AssignmentSkipped')
    throw new Error(`signed item skipped: ${skip?.args.reason}`)
  }
  const tasks = assigned.map(({ args }, i) => {
    const record = created[i]
    if (!record || record.args.requestId !== args.requestId) throw new Error('RequestCreated and TaskAssigned differ')
    return { requestId: args.requestId, request: record.args.request, task: args.task }
  })
  return { receipt, tasks }
}

async function bench(devnet: Devnet): Promise<Row[]> {
  const { actors, reader, deployment } = devnet
  const { marketId, prover, requester } = await setup(devnet)
  // Identical public inputs for every request: one real proof then fulfils them all.
  const statement = await preimageStatement()
  const proof = await provePoseidonPreimage(statement.preimage, statement.context)
  const post = async (schedule: ScheduleOptions = {}) =>
    createRequest(
      actors.requester,
      preimageRequest({
        marketId,
        now: await chainTime(reader),
        publicInputs: statement.publicInputs,
        maxReward: MAX_REWARD,
        refundAddress: requester,
        schedule: { provingTime: PROVING_TIME, ...schedule },
      }),
    )
  const expectEscrow = (created: CreatedRequest, source: CreatedRequest['escrowSource']) => {
    if (created.escrowSource !== source) throw new Error(`escrow came from ${created.escrowSource}, not ${source}`)
    return created
  }
  const rows: Row[] = []

  // Without a marketplace balance the escrow is pulled with transferFrom. The first request of the market sets its
  // counter and the marketplace's token balance from zero; measure the second.
  const [warm, single] = [expectEscrow(await post(), 'transferFrom'), expectEscrow(await post(), 'transferFrom')]
  rows.push(
    row('createRequest, escrow via transferFrom', single.receipt, 1, 'not the first request; allowance unlimited'),
  )

  // One deposit covering the rest (plus one spare reward, so the balance never returns to zero), then every
  // request escrows from the balance.
  const rest = 2 * BATCH + 3
  const deposited = await deposit(actors.requester, deployment.contracts.paymentToken, MAX_REWARD * BigInt(rest + 1))
  rows.push(row('deposit (covers the next requests)', deposited.receipt, 1, `${rest + 1} max rewards at once`))
  const fromBalance: CreatedRequest[] = []
  for (let i = 0; i < rest - 1; i++) fromBalance.push(expectEscrow(await post(), 'balance'))
  // Short matching window: this one is left unassigned and cancelled.
  const cancelled = expectEscrow(await post({ matchingWindow: 60 }), 'balance')
  const second = fromBalance[1]
  if (!second) throw new Error('no requests created')
  rows.push(row('createRequest, escrow from deposited balance', second.receipt, 1, 'balance non-zero before and after'))
  const [slashed, claimed, ...others] = fromBalance as [CreatedRequest, CreatedRequest, ...CreatedRequest[]]
  const batchRequests = others.slice(0, BATCH)
  const fulfilRequests = others.slice(BATCH)

  // Registry and staking state is one packed slot per prover, so a first task costs the same as later ones.
  const [warmTask] = (await assign(devnet, [warm], prover)).assigned
  const singleOutcome = await assign(devnet, [single], prover)
  rows.push(row('assign, batch of 1', singleOutcome.receipt, 1, 'one matcher signature'))
  const batchOutcome = await assign(devnet, batchRequests, prover)
  rows.push(row(`assign, batch of ${BATCH}`, batchOutcome.receipt, BATCH, 'one matcher signature for the batch'))
  const { assigned: laterTasks } = await assign(devnet, [...fulfilRequests, slashed], prover)
  const slashedTask = laterTasks.at(-1)
  const [singleTask] = singleOutcome.assigned
  if (!warmTask || !singleTask || !slashedTask) throw new Error('missing assignments')

  await advanceTime(devnet, FALLBACK_DELAY + 1)
  const claimedTask = await claim(actors.prover, claimed)
  rows.push(row('claim (fallback, no matcher)', claimedTask.receipt, 1, 'prover takes it at its listed price'))

  const fulfilParams = ({ requestId, request, task }: TaskRecords): FulfilParams => ({
    requestId,
    request,
    task,
    publicInputs: proof.publicInputs,
    proof: proof.proof,
  })
  // The first fulfilment creates the prover's marketplace balance; measure a later one.
  await fulfil(actors.prover, fulfilParams(warmTask))
  rows.push(
    row(
      'fulfil (real Groth16 proof)',
      (await fulfil(actors.prover, fulfilParams(singleTask))).receipt,
      1,
      'pairing check included',
    ),
  )
  const batch = await fulfilBatch(actors.prover, laterTasks.slice(0, BATCH).map(fulfilParams))
  if (batch.fulfilled.length !== BATCH) throw new Error(`fulfilment skipped: ${batch.skipped[0]?.reason.message}`)
  rows.push(
    row(`fulfilBatch of ${BATCH}`, batch.receipt, BATCH, 'one Groth16BatchVerifier multi-pairing for the batch'),
  )

  // Signed requests (ISignedRequests): no request transaction; assignSigned records and assigns, then fulfil. The
  // escrow comes from the requester's balance (a new deposit, not measured). Nonce 0 sets the requester's first
  // nonce-bitmap word from zero (the first signed request of an account); the later ones are the steady state.
  const signedCount = 2 + BATCH
  await deposit(actors.requester, deployment.contracts.paymentToken, MAX_REWARD * BigInt(signedCount))
  const signedParams = async () =>
    preimageRequest({
      marketId,
      now: await chainTime(reader),
      publicInputs: statement.publicInputs,
      maxReward: MAX_REWARD,
      refundAddress: requester,
      schedule: { provingTime: PROVING_TIME },
    })
  const firstSigned = await assignSigned(devnet, prover, [0n], signedParams)
  rows.push(
    row('assignSigned, batch of 1, first nonce word', firstSigned.receipt, 1, "the account's nonce bitmap word is new"),
  )
  const singleSigned = await assignSigned(devnet, prover, [1n], signedParams)
  rows.push(row('assignSigned, batch of 1', singleSigned.receipt, 1, 'steady state: nonce word already in use'))
  const batchSigned = await assignSigned(
    devnet,
    prover,
    Array.from({ length: BATCH }, (_, i) => BigInt(2 + i)),
    signedParams,
  )
  rows.push(row(`assignSigned, batch of ${BATCH}`, batchSigned.receipt, BATCH, 'one matcher signature for the batch'))
  const [signedTask] = singleSigned.tasks
  if (!signedTask) throw new Error('no signed task')
  const signedFulfil = await fulfil(actors.prover, fulfilParams(signedTask))
  rows.push(row('fulfil, signed request (real Groth16 proof)', signedFulfil.receipt, 1, 'pairing check included'))
  const signedBatch = await fulfilBatch(actors.prover, batchSigned.tasks.map(fulfilParams))
  if (signedBatch.fulfilled.length !== BATCH)
    throw new Error(`fulfilment skipped: ${signedBatch.skipped[0]?.reason.message}`)
  rows.push(
    row(
      `fulfilBatch of ${BATCH}, signed requests`,
      signedBatch.receipt,
      BATCH,
      'one Groth16BatchVerifier multi-pairing',
    ),
  )

  // The fast lane (ISignedFulfilments): the matcher assigns off chain (a signed FastAssignment), the prover sends the
  // request, the assignment and the proof in one transaction. Nonces come from signRequest's default (nextNonce: one
  // random word, counted through), so the first request spends a new word and the rest the steady state.
  await deposit(actors.requester, deployment.contracts.paymentToken, MAX_REWARD * BigInt(3 + BATCH))
  const fastAssignment = async (requestId: bigint) => {
    const validUntil = (await chainTime(reader)) + 300n
    const price = parseEther('25')
    const matcherSignature = await actors.matcher.wallet.signTypedData({
      account: actors.matcher.wallet.account,
      ...fastAssignmentTypedData(deployment, { requestId, prover, price, validUntil }),
    })
    return { prover, price, validUntil, matcherSignature }
  }
  const fastItems = async (count: number) => {
    const items = []
    for (let i = 0; i < count; i++) {
      const signed = await signRequest(actors.requester, await signedParams())
      const assignment = await fastAssignment(signed.requestId)
      items.push({
        request: signed.request,
        requesterSignature: signed.signature,
        ...assignment,
        publicInputs: '0x' as Hex,
        proof: proof.proof,
      })
    }
    return items
  }
  const fastWrite = (functionName: 'fulfilSigned' | 'fulfilSignedBatch' | 'fulfilOpen', args: readonly unknown[]) =>
    write(actors.prover, {
      address: deployment.contracts.proofMarketplace,
      abi: iSignedFulfilmentsAbi,
      functionName,
      args,
    } as Parameters<typeof write>[1])
  const [firstFast] = await fastItems(1)
  rows.push(
    row(
      'fulfilSigned (fast lane), first nonce of a word',
      await fastWrite('fulfilSigned', [firstFast]),
      1,
      'real proof; pairing check included',
    ),
  )
  const [nextFast] = await fastItems(1)
  rows.push(
    row(
      'fulfilSigned (fast lane)',
      await fastWrite('fulfilSigned', [nextFast]),
      1,
      'steady state: nonce word in use; pairing check included',
    ),
  )
  const fastBatch = await fastWrite('fulfilSignedBatch', [await fastItems(BATCH)])
  if (
    eventsOf(fastBatch, deployment.contracts.proofMarketplace, iSignedFulfilmentsAbi, 'SignedRequestFulfilled')
      .length !== BATCH
  )
    throw new Error('fast-lane batch item skipped')
  rows.push(
    row(`fulfilSignedBatch of ${BATCH} (fast lane)`, fastBatch, BATCH, 'one Groth16BatchVerifier multi-pairing'),
  )
  const open = await post()
  const openAssignment = await fastAssignment(open.requestId)
  const openReceipt = await fastWrite('fulfilOpen', [
    {
      requestId: open.requestId,
      request: open.request,
      ...openAssignment,
      publicInputs: proof.publicInputs,
      proof: proof.proof,
    },
  ] as never)
  rows.push(row('createRequest (for fulfilOpen)', open.receipt, 1, 'escrow from the deposited balance'))
  rows.push(
    row('fulfilOpen (fast lane, on-chain request)', openReceipt, 1, 'no assign transaction; pairing check included'),
  )

  await advanceTime(devnet, PROVING_TIME + 1)
  rows.push(
    row('slash', (await slash(actors.bystander, slashedTask)).receipt, 1, 'native stake; first slash of market'),
  )
  rows.push(
    row('cancel (expired, unassigned)', (await cancel(actors.bystander, cancelled)).receipt, 1, 'refund to balance'),
  )

  const verifyData = encodeVerify(proof.publicInputs, proof.proof, singleTask)
  const naive = await reader.public.estimateGas({
    account: actors.bystander.wallet.account,
    to: deployment.contracts.groth16Adapter,
    data: verifyData,
  })
  const minimum = await minimumGasToVerify(devnet, verifyData)
  // verify is a view, but sending it as a transaction gives a receipt: the verifier's real consumption.
  const hash = await actors.bystander.wallet.sendTransaction({
    to: deployment.contracts.groth16Adapter,
    data: verifyData,
  })
  const verifyReceipt = await reader.public.waitForTransactionReceipt({ hash })
  const calldata = calldataGas(verifyData)
  rows.push({
    operation: 'Groth16 adapter.verify as its own tx (receipt − 21 000)',
    gasUsed: verifyReceipt.gasUsed - 21_000n,
    requests: 1,
    note: `includes ${calldata} calldata gas; execution ≈ ${verifyReceipt.gasUsed - 21_000n - calldata}`,
  })
  rows.push({
    operation: 'Groth16 adapter.verify, gas limit needed (eth_estimateGas − 21 000)',
    gasUsed: naive - 21_000n,
    requests: 1,
    note:
      naive === minimum
        ? 'equals the eth_call bisection minimum; above gasUsed because the verifier demands 64/63 headroom before each precompile call'
        : `eth_call bisection says ${minimum - 21_000n}: an out-of-gas check reads as an invalid proof`,
  })
  return rows
}

/**
 * Smallest gas limit at which adapter.verify returns true, found with eth_call. eth_estimateGas is only trustworthy
 * here if the adapter reverts when short of gas: the snarkjs verifier turns an out-of-gas pairing precompile into
 * `false`, a successful call to the estimator. The table shows both, so a regression is visible.
 */
async function minimumGasToVerify(devnet: Devnet, data: Hex): Promise<bigint> {
  const verifies = async (gas: bigint) => {
    try {
      const { data: returned } = await devnet.reader.public.call({
        account: devnet.actors.bystander.wallet.account,
        to: devnet.deployment.contracts.groth16Adapter,
        data,
        gas,
      })
      if (!returned) return false
      return decodeFunctionResult({ abi: groth16BatchVerifierAbi, functionName: 'verify', data: returned })
    } catch {
      return false
    }
  }
  let low = 21_000n
  let high = 2_000_000n
  if (!(await verifies(high))) throw new Error('the proof does not verify even with 2M gas')
  while (high - low > 1n) {
    const mid = (low + high) / 2n
    if (await verifies(mid)) high = mid
    else low = mid
  }
  return high
}

/** adapter.verify's calldata as the marketplace sends it when fulfilling `records` (the adapter ignores the context). */
function encodeVerify(publicInputs: Hex, proof: Hex, records: TaskRecords): Hex {
  const args = [publicInputs, proof, proofContextOf(records)] as const
  return encodeFunctionData({ abi: groth16BatchVerifierAbi, functionName: 'verify', args })
}

function table(rows: readonly Row[]): string {
  const format = (n: bigint) => n.toLocaleString('en-US')
  const lines = [
    '| operation | gasUsed (tx) | gas per request | note |',
    '| --- | ---: | ---: | --- |',
    ...rows.map(
      (r) => `| ${r.operation} | ${format(r.gasUsed)} | ${format(r.gasUsed / BigInt(r.requests))} | ${r.note} |`,
    ),
  ]
  return lines.join('\n')
}

async function main(): Promise<void> {
  // BENCH_PORT pins anvil's port (a shared machine's allotted range); otherwise any free one.
  const port = process.env.BENCH_PORT ? Number(process.env.BENCH_PORT) : await freePort()
  const devnet = await startDevnet({ port, deploymentOut: `deployments/bench-${port}.json`, throwaway: true })
  try {
    const rows = await bench(devnet)
    console.log(table(rows))
    const out = join(repoRoot, 'gas', 'bench-receipts.json')
    await mkdir(join(repoRoot, 'gas'), { recursive: true })
    const json = {
      description: 'Receipt gasUsed (21 000 base + calldata + execution) on anvil; see script/gas/bench.ts',
      chainId: devnet.deployment.chainId,
      rows: rows.map((r) => ({
        ...r,
        gasUsed: Number(r.gasUsed),
        gasPerRequest: Number(r.gasUsed / BigInt(r.requests)),
      })),
    }
    await writeFile(out, `${JSON.stringify(json, null, 2)}\n`)
    console.log(`\nwrote ${out}`)
  } finally {
    await devnet.stop()
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
