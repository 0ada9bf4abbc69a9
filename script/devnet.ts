// Local Cairn devnet: anvil + the forge deployment + one full Groth16 request lifecycle, then keeps anvil running.
//   npm run devnet            # stays up until Ctrl-C
//   npm run devnet -- --once  # exits after the scenario (CI smoke test)
// PORT (default 8545) picks anvil's port.
import { performance } from 'node:perf_hooks'
import { formatEther, parseEther, type TransactionReceipt } from 'viem'
import { groth16MarketParams, preimageRequest, preimageStatement } from '../ts/devnet/scenario.js'
import { type Devnet, startDevnet } from '../ts/devnet/stack.js'
import {
  chainTime,
  createMarket,
  createRequest,
  deposit,
  fulfil,
  getBalance,
  list,
  loadRequest,
  marketIdOf,
  mintDevToken,
  provePoseidonPreimage,
  register,
  requestIndexOf,
  signAssignments,
  stake,
  submitAssignments,
  withdraw,
} from '../ts/index.js'

const once = process.argv.includes('--once')
const port = Number(process.env.PORT ?? 8545)

type StepResult<T> = { value: T; receipts?: readonly (TransactionReceipt | undefined)[]; note?: string }

let stepNumber = 0

/** Runs one step and prints its wall time and the gas of the transactions it sent. */
async function step<T>(title: string, run: () => Promise<StepResult<T>>): Promise<T> {
  const started = performance.now()
  const { value, receipts = [], note } = await run()
  const ms = Math.round(performance.now() - started)
  const gas = receipts.filter((r) => r !== undefined).map((r) => r.gasUsed.toLocaleString('en-US'))
  const gasText = gas.length === 0 ? '' : `  gas ${gas.join(' + ')}`
  const noteText = note ? `  ${note}` : ''
  stepNumber += 1
  console.log(
    `${String(stepNumber).padStart(2)}. ${title.padEnd(44)} ${String(ms).padStart(6)} ms${gasText}${noteText}`,
  )
  return value
}

async function scenario(devnet: Devnet): Promise<void> {
  const { deployment, actors } = devnet
  const { paymentToken, stakeToken } = deployment.contracts
  const proverAddress = actors.prover.wallet.account.address
  const requesterAddress = actors.requester.wallet.account.address

  const marketId = await step('create Groth16 market (deployer)', async () => {
    const { marketId, receipt } = await createMarket(actors.deployer, groth16MarketParams(deployment))
    return { value: marketId, receipts: [receipt], note: `market #${marketId}` }
  })

  await step('prover: mint 1000 cSTK, register, stake', async () => {
    const minted = await mintDevToken(actors.prover, stakeToken, proverAddress, parseEther('1000'))
    const registered = await register(actors.prover, { capacity: 4 })
    const staked = await stake(actors.prover, { amount: parseEther('1000') })
    return { value: undefined, receipts: [minted, registered, staked.approval, staked.receipt] }
  })

  const price = parseEther('25')
  await step('prover: list at 25 cUSD, 600 s per proof', async () => {
    const receipt = await list(actors.prover, { marketId, price, provingTime: 600 })
    return { value: undefined, receipts: [receipt] }
  })

  const statement = await step('requester: Poseidon digest of a secret', async () => {
    const value = await preimageStatement()
    return { value, note: `digest ${value.digest.toString().slice(0, 12)}…` }
  })

  const maxReward = parseEther('40')
  await step('requester: mint 40 cUSD, deposit it', async () => {
    const minted = await mintDevToken(actors.requester, paymentToken, requesterAddress, maxReward)
    const { receipt, approval } = await deposit(actors.requester, paymentToken, maxReward)
    const balance = await getBalance(devnet.reader, requesterAddress, paymentToken)
    return { value: undefined, receipts: [minted, approval, receipt], note: `balance ${formatEther(balance)} cUSD` }
  })

  const created = await step('requester: post request from balance', async () => {
    const params = preimageRequest({
      marketId,
      now: await chainTime(devnet.reader),
      publicInputs: statement.publicInputs,
      maxReward,
      refundAddress: requesterAddress,
    })
    const created = await createRequest(actors.requester, params)
    const note = `request #${formatRequestId(created.requestId)}, escrow 40 cUSD from ${created.escrowSource}`
    return { value: created, receipts: [created.approval, created.receipt], note }
  })
  const { requestId } = created

  await step('matcher: sign batch; bystander: submit it', async () => {
    const validUntil = (await chainTime(devnet.reader)) + 300n
    // The record travels with the batch (unsigned: the contract checks it against its commitment).
    const batch = await signAssignments(actors.matcher, {
      assignments: [{ requestId, prover: proverAddress, request: created.request }],
      validUntil,
    })
    const outcome = await submitAssignments(actors.bystander, batch)
    const [task] = outcome.assigned
    if (task === undefined) throw new Error(`not assigned: ${outcome.skipped[0]?.reason.message}`)
    return { value: undefined, receipts: [outcome.receipt], note: `price ${formatEther(task.task.price)} cUSD` }
  })

  // The prover knows only the id: it rebuilds the records (and the public inputs it must prove) from the logs.
  const loaded = await step('prover: load request from logs', async () => {
    const value = await loadRequest(devnet.reader, requestId)
    const deadline = value.task?.deadline ?? 0
    return { value, note: `state ${value.state}, due in ${deadline - Number(await chainTime(devnet.reader))} s` }
  })

  // The preimage reaches the prover off-chain for now (private-input encryption is a later issue).
  const proof = await step('prover: Groth16 proof (snarkjs fullProve)', async () => {
    const value = await provePoseidonPreimage(statement.preimage, statement.context)
    if (value.publicInputs !== loaded.publicInputs.data) throw new Error('proof is not for the posted public inputs')
    return { value }
  })

  await step('prover: fulfil', async () => {
    const { request, task } = loaded
    const { receipt, refund } = await fulfil(actors.prover, { requestId, request, task, ...proof })
    return { value: undefined, receipts: [receipt], note: `refund ${formatEther(refund)} cUSD` }
  })

  await step('prover + requester: withdraw', async () => {
    const earned = await withdraw(actors.prover, paymentToken)
    const refunded = await withdraw(actors.requester, paymentToken)
    const note = `prover +${formatEther(earned.amount)} cUSD, requester +${formatEther(refunded.amount)} cUSD`
    return { value: undefined, receipts: [earned.receipt, refunded.receipt], note }
  })

  const left = await getBalance(devnet.reader, proverAddress, paymentToken)
  const final = await loadRequest(devnet.reader, requestId)
  console.log(`\nrequest #${formatRequestId(requestId)}: ${final.state}; prover balance left ${left}`)
}

/** market/index form of a request id (marketId << 64 | index). */
function formatRequestId(requestId: bigint): string {
  return `${marketIdOf(requestId)}/${requestIndexOf(requestId)}`
}

function printDeployment(devnet: Devnet): void {
  console.log(`\nanvil   ${devnet.anvil.rpcUrl} (chain ${devnet.deployment.chainId})`)
  for (const [name, address] of Object.entries(devnet.deployment.contracts))
    console.log(`  ${name.padEnd(18)} ${address}`)
  console.log('')
}

async function main(): Promise<void> {
  const devnet = await step('start anvil + deploy (forge script)', async () => ({
    value: await startDevnet({ port }),
    note: `deployments/31337.json`,
  }))
  const shutdown = async (signal: string) => {
    console.log(`\n${signal}: stopping anvil`)
    await devnet.stop()
    process.exit(0)
  }
  process.once('SIGINT', () => void shutdown('SIGINT'))
  process.once('SIGTERM', () => void shutdown('SIGTERM'))

  printDeployment(devnet)
  try {
    await scenario(devnet)
  } catch (error) {
    await devnet.stop()
    throw error
  }
  if (once) {
    await devnet.stop()
    return
  }
  console.log(`\ndevnet running at ${devnet.anvil.rpcUrl}; Ctrl-C to stop`)
}

main().catch((error: unknown) => {
  // Structured, so a CI log keeps the decoded contract error (name, args) next to the message.
  const { name, message, args } = error as { name?: string; message?: string; args?: unknown }
  console.error(JSON.stringify({ level: 'error', name, message, args }, (_, v) => (typeof v === 'bigint' ? `${v}` : v)))
  process.exit(1)
})
