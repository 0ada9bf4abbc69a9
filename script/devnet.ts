// The whole Cairn network on this machine: two anvil chains (Ethereum with the real Symbiotic core, and the
// marketplace chain), every contract deployed by the forge scripts, a relayer quorum mirroring restaked stake, the
// attested matcher and a prover runner (the dev attestation provider stands in for TDX). Then five requests run end
// to end: a private-input Groth16 request, a private TEE-WASM request and a private-input Noir request (UltraHonk ZK,
// DEV CRS) on the stake-backed path, and two public TEE-WASM requests on the fast lane (one signed off chain, one
// posted on chain), and the network stays up for the CLI until Ctrl-C.
//   npm run devnet            # stays up until Ctrl-C
//   npm run devnet -- --once  # exits after the five requests (CI smoke test)
// PORT (default 8545) is the marketplace chain's RPC port, ETHEREUM_PORT (default 8546) Ethereum's, EXPLORER_PORT
// (default: a free port, printed) the explorer's.
import { randomBytes } from 'node:crypto'
import { mkdir, rm } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { performance } from 'node:perf_hooks'
import { bytesToHex, concat, formatEther, type Hex, parseEther, sha256, toHex } from 'viem'
import { poseidon2PreimageProgram, readNoirProgram } from '../enclave/prover/backends/noir.js'
import { anvilAccount, devRoles } from '../ts/devnet/accounts.js'
import { explorerUrlOf, startDevExplorer } from '../ts/devnet/explorer.js'
import {
  createDevMarkets,
  type DevMarkets,
  fundActors,
  matcherUrlOf,
  restakedStakeLive,
  startMatcher,
  startProver,
  startRelayers,
} from '../ts/devnet/launch.js'
import { type Network, RELAYER_OPERATOR_ACCOUNTS_FROM, startNetwork } from '../ts/devnet/network.js'
import { repoRoot } from '../ts/devnet/paths.js'
import { preimageStatement, randomFieldElement } from '../ts/devnet/scenario.js'
import type { Service } from '../ts/devnet/services.js'
import { type ProofRequest, type ProofStage, requestProof, type SignedProofRequest, waitForProof } from '../ts/index.js'
import { noirRequestInputs, poseidon2Hash } from '../ts/noir.js'

const once = process.argv.includes('--once')
const marketplacePort = Number(process.env.PORT ?? 8545)
const ethereumPort = Number(process.env.ETHEREUM_PORT ?? 8546)
const explorerPort = process.env.EXPLORER_PORT === undefined ? undefined : Number(process.env.EXPLORER_PORT)
const devnetDir = join(repoRoot, '.devnet')
const logDir = join(devnetDir, 'logs')
const stateDir = join(devnetDir, 'state')
const PRICE = parseEther('25')
const MAX_REWARD = parseEther('40')
const PROVING_TIME = 120

const started = performance.now()
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s`
const say = (text: string) => console.log(`${elapsed()}  ${text}`)

const services: Service[] = []
let network: Network | undefined
/** Where the waits ask the matcher why a request is not assigned yet. */
let matcherUrl: string | undefined
let stopping: Promise<void> | undefined

/** Stops every service (SIGTERM, so each shuts down cleanly), then both chains. */
function shutdown(): Promise<void> {
  stopping ??= (async () => {
    for (const service of [...services].reverse()) await service.stop().catch(() => {})
    await network?.stop()
  })()
  return stopping
}

async function main(): Promise<void> {
  // A devnet always starts from genesis: enclave key files of an earlier run would name keys this chain never saw.
  await rm(devnetDir, { recursive: true, force: true })
  await mkdir(logDir, { recursive: true })
  await mkdir(stateDir, { recursive: true })

  network = await startNetwork({ marketplacePort, ethereumPort, files: 'canonical', onProgress: say })
  const net = network
  say(`marketplace chain ${net.marketplace.deployment.chainId} at ${net.marketplace.anvil.rpcUrl}`)
  say(`Ethereum chain ${net.ethereum.chainId} at ${net.ethereum.anvil.rpcUrl}`)
  const explorer = await startDevExplorer(net, { logDir, port: explorerPort })
  services.push(explorer)
  say(`explorer at ${explorerUrlOf(explorer)} (follows the chain live: open it now)`)

  say(
    'markets: Groth16 (restaked stake), Groth16 (native stake), TEE-WASM sha256 program (native stake), Noir Poseidon2 preimage (UltraHonk ZK on the INSECURE dev CRS, native stake)',
  )
  await fundActors(net)
  const markets = await createDevMarkets(net)

  say(
    `starting ${net.relayers.length} relayers, one per admitted operator (quorum ${net.restaking.marketplace.threshold} operators)`,
  )
  services.push(...(await startRelayers(net, { logDir, stateDir })))
  say('starting the matcher (attests its key with the dev TDX provider, registers it on chain)')
  const matcher = await startMatcher(net, { logDir, stateDir })
  services.push(matcher)
  matcherUrl = matcherUrlOf(matcher)
  say(
    'starting the prover runner (attests per-market enclave keys, lists in every market, stakes, polls the fast lane)',
  )
  services.push(
    await startProver(net, {
      logDir,
      stateDir,
      claimFallback: true,
      matcherUrl,
      markets: [
        { marketId: markets.groth16Restaked, backend: 'groth16', price: PRICE, provingTime: PROVING_TIME },
        { marketId: markets.groth16Native, backend: 'groth16', price: PRICE, provingTime: PROVING_TIME },
        { marketId: markets.teeWasm, backend: 'tee-wasm', price: PRICE, provingTime: PROVING_TIME },
        { marketId: markets.noir, backend: 'noir', price: PRICE, provingTime: PROVING_TIME },
      ],
    }),
  )

  say(
    'waiting for the first stake snapshot; the prover runner proves its restaked stake leaf (and does in every epoch)',
  )
  const restaked = await restakedStakeLive(net)
  say(`prover's restaked stake on the marketplace chain: ${formatEther(restaked)} (mirrored from the Symbiotic vault)`)

  await privateGroth16Request(net, markets)
  await teeWasmRequest(net, markets)
  await privateNoirRequest(net, markets)
  await publicFastLaneRequests(net, markets)
  printSummary(net, markets)
}

/** A Poseidon preimage known only to the requester and, once assigned, the prover's enclave. */
async function privateGroth16Request(net: Network, markets: DevMarkets): Promise<void> {
  const statement = await preimageStatement()
  const privateInputs = new TextEncoder().encode(JSON.stringify({ preimage: statement.preimage.toString() }))
  await runRequest(net, 'private-input Groth16 request (restaked market)', {
    path: 'signed',
    marketId: markets.groth16Restaked,
    publicInputs: statement.publicInputs,
    privateInputs,
  })
}

/**
 * A Poseidon2 preimage known only to the requester and, once assigned, the prover's enclave, proven with the Noir
 * circuit noir/poseidon2_preimage: inputs given by name as the circuit's ABI names them, checked against it before
 * anything is encrypted; the ZK proof posted on chain reveals nothing of the preimage.
 */
async function privateNoirRequest(net: Network, markets: DevMarkets): Promise<void> {
  const program = await readNoirProgram(poseidon2PreimageProgram)
  const preimage = randomFieldElement()
  const context = randomFieldElement()
  const digest = await poseidon2Hash([preimage])
  const { publicInputs, privateInputs } = noirRequestInputs(program.abi, {
    digest: toHex(digest),
    context: toHex(context),
    preimage: toHex(preimage),
  })
  await runRequest(net, 'private-input Noir request (Poseidon2 preimage, UltraHonk ZK)', {
    path: 'onchain',
    marketId: markets.noir,
    publicInputs,
    ...(privateInputs === undefined ? {} : { privateInputs }),
  })
}

/** A sha256 preimage, proven by the sample WASM program inside the prover's enclave. */
async function teeWasmRequest(net: Network, markets: DevMarkets): Promise<void> {
  const preimage = randomBytes(48)
  const context = bytesToHex(randomBytes(32))
  await runRequest(net, 'TEE-WASM request (sha256 preimage program, private preimage)', {
    path: 'onchain',
    marketId: markets.teeWasm,
    publicInputs: concat([context, sha256(preimage)]),
    privateInputs: preimage,
  })
}

/**
 * Two requests with public inputs only, which the matcher offers on the fast lane: the prover proves first and settles
 * each in one transaction (fulfilSigned for the signed one, fulfilOpen for the on-chain one), with no assignment, no
 * stake lock and no escrow written. The statement: the sha256 program over the empty preimage, bound to a fresh
 * context, so the whole statement is public and nothing needs a data key.
 */
async function publicFastLaneRequests(net: Network, markets: DevMarkets): Promise<void> {
  for (const path of ['signed', 'onchain'] as const) {
    const context = bytesToHex(randomBytes(32))
    await runRequest(net, `public TEE-WASM request on the fast lane (${path === 'signed' ? 'signed' : 'on chain'})`, {
      path,
      marketId: markets.teeWasm,
      publicInputs: concat([context, sha256('0x')]),
    })
  }
}

async function runRequest(
  net: Network,
  title: string,
  params: { path: 'signed' | 'onchain'; marketId: bigint; publicInputs: Hex; privateInputs?: Uint8Array },
): Promise<void> {
  const requester = { ...net.marketplace.actors.requester, attestation: net.attestation.marketplace }
  // One request on each path: signed off chain and sent to the matcher's order stream (nothing on chain until it is
  // assigned), and posted on chain with createRequest (what a contract asking for proofs does).
  const how =
    params.path === 'signed'
      ? 'signing it off chain and sending it to the order stream'
      : 'posting it on chain (createRequest)'
  const privacy =
    params.privateInputs === undefined ? 'public inputs only' : 'encrypting private inputs to the attested matcher key'
  say(`${title}: ${privacy}, ${how}`)
  const requestStart = performance.now()
  const common = {
    marketId: params.marketId,
    maxReward: MAX_REWARD,
    provingTime: PROVING_TIME,
    publicInputs: params.publicInputs,
    ...(params.privateInputs === undefined ? {} : { privateInputs: params.privateInputs }),
  }
  const created =
    params.path === 'signed' && matcherUrl !== undefined
      ? await requestProof(requester, { ...common, matcherUrl })
      : await requestProof(requester, common)
  say(`  request ${created.requestId} ${requestLine(created)}`)
  const stageText: Partial<Record<ProofStage, string>> = {
    assigned: 'assigned by the matcher',
    'input-key-released': 'data key re-wrapped to the prover enclave',
    fulfilled: 'proof verified on chain',
  }
  // No time budget: the wait follows the chain until the proof lands or the request can no longer be assigned
  // (its matching expiry passes, and the error then names the matcher's last reason). While it is unassigned the
  // matcher says why, each time its reason changes.
  const proof = await waitForProof(net.marketplace.reader, created.requestId, {
    ...(matcherUrl === undefined ? {} : { matcherUrl }),
    // A signed request is not on chain until it is used: the wait watches for that, and posts it on chain itself if
    // the matcher has not assigned it in time (the censorship fallback).
    ...(created.path === 'onchain' ? {} : { signed: { signed: created.signed, client: requester, matcherUrl } }),
    onUnassigned: (reason, details) => {
      // Matched or about to be: the next lines say so; only what holds a request back is worth a line.
      if (reason.code === 'Queued' || reason.code === 'InFlight') return
      say(`  not assigned yet (block ${details.blockNumber}): ${reason.message}`)
    },
    onProgress: (stage, details) => {
      if (stage === 'assignment-skipped' && details.reason) {
        say(`  the marketplace skipped an assignment (block ${details.blockNumber}): ${details.reason.message}`)
        return
      }
      if (stage === 'fulfilled' && details.lane === 'fast') {
        say(
          `  proven on the fast lane: settled in one transaction, no assignment (block ${details.blockNumber}, prover ${details.prover})`,
        )
        return
      }
      const text = stageText[stage] ?? stage
      say(`  ${text} (block ${details.blockNumber}${details.prover ? `, prover ${details.prover}` : ''})`)
    },
  })
  const seconds = ((performance.now() - requestStart) / 1000).toFixed(1)
  const receipt = await net.marketplace.reader.public.getTransactionReceipt({ hash: proof.transactionHash })
  say(
    `  settled by ${proof.transactionHash} (${receipt.gasUsed.toLocaleString('en-US')} gas, the proof's verification included)`,
  )
  say(`  done in ${seconds} s: paid ${formatEther(proof.price)} cUSD, refunded ${formatEther(proof.refund)}`)
}

/** Where a new request stands: acknowledged by the matcher, or posted in a block. */
function requestLine(created: ProofRequest | SignedProofRequest): string {
  if (created.path === 'onchain') return `posted in block ${created.receipt.blockNumber}`
  if (created.path === 'posted')
    return `posted on chain (the matcher did not acknowledge it: ${created.unavailable?.message})`
  return 'acknowledged by the matcher: signed off chain, nothing on chain until it is assigned'
}

/** anvil's dev mnemonic accounts and what each does here: printed with keys, since a devnet has nothing to hide. */
function accountLines(net: Network): string[] {
  const account = (role: string, index: number) => {
    const { account: dev, privateKey } = anvilAccount(index)
    return `    ${role.padEnd(30)} ${dev.address}  key ${privateKey}`
  }
  return [
    "  accounts (anvil's test mnemonic: devnet only, never use these keys anywhere else)",
    account('deployer, owner, role admin', devRoles.deployer),
    account('prover (runner operator)', devRoles.prover),
    account('requester', devRoles.requester),
    account('matcher submitter', devRoles.matcher),
    account('bystander', devRoles.bystander),
    account('Symbiotic operator (Ethereum)', 5),
    account('restaker (Ethereum)', 6),
    ...net.relayers.map((_, i) => account(`relayer operator ${i}`, RELAYER_OPERATOR_ACCOUNTS_FROM + i)),
  ]
}

function printSummary(net: Network, markets: DevMarkets): void {
  const rpcUrl = net.marketplace.anvil.rpcUrl
  // The CLI's defaults are the default ports: name the RPC only when the devnet runs elsewhere.
  const rpc = marketplacePort === 8545 ? '' : ` --rpc-url ${rpcUrl}`
  const requesterKey = anvilAccount(devRoles.requester).privateKey
  const lines = [
    '',
    'Cairn devnet is up.',
    `  marketplace chain  ${rpcUrl}  (chain ${net.marketplace.deployment.chainId}, deployments/${net.marketplace.deployment.chainId}*.json)`,
    `  Ethereum           ${net.ethereum.anvil.rpcUrl}  (chain ${net.ethereum.chainId}, deployments/${net.ethereum.chainId}*.json)`,
    ...services.filter((s) => s.name === 'explorer').map((s) => `  explorer           ${explorerUrlOf(s)}`),
    ...accountLines(net),
    '  markets and the inputs they expect',
    `    #${markets.groth16Restaked} Groth16 Poseidon preimage, restaked stake: public inputs = Poseidon(preimage) ‖ context (two`,
    '       32-byte field elements); private inputs = {"preimage": "<decimal field element>"} (JSON)',
    `    #${markets.groth16Native} the same circuit with native stake`,
    `    #${markets.teeWasm} TEE-WASM sha256 preimage program: public inputs = context (32 bytes) ‖ sha256(preimage);`,
    '       private inputs = the preimage bytes',
    `    #${markets.noir} Noir noir/poseidon2_preimage (UltraHonk ZK, INSECURE dev CRS): inputs by ABI name, e.g.`,
    `       npx cairn request --market ${markets.noir} --noir-program noir/build/poseidon2_preimage.json --noir-inputs in.json`,
    '       with in.json = {"digest": "0x…", "context": "0x…", "preimage": "0x…"} (checked against the ABI, preimage encrypted)',
    '  services',
    ...services.map(
      (s) =>
        `    ${s.name.padEnd(16)} ${s.healthUrl.replace(/\/healthz?$/, '/metrics')}  log ${relative(repoRoot, s.logFile)}`,
    ),
    '  try (as the requester):',
    `    export CAIRN_PRIVATE_KEY=${requesterKey}`,
    ...(matcherUrl === undefined
      ? []
      : [
          `    export CAIRN_MATCHER_URL=${matcherUrl}   # cairn request signs and sends to the matcher (--onchain: not)`,
        ]),
    `    npx cairn market list${rpc}`,
    `    npx cairn balance${rpc}`,
    ...(matcherUrl === undefined
      ? []
      : [`    npx cairn status <requestId>${rpc} --matcher-url ${matcherUrl}   # an open request: why it waits`]),
  ]
  console.log(lines.join('\n'))
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    say(`${signal}: stopping services and chains`)
    shutdown().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  })
}

try {
  await main()
  if (once) {
    await shutdown()
    say('devnet smoke run complete')
    process.exit(0)
  }
  say('running until Ctrl-C')
} catch (error) {
  // A person reads this, not a debugger: the reason and where to look (CAIRN_DEBUG=1 adds the stack).
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  say(`the devnet stopped: ${reason}`)
  if (process.env.CAIRN_DEBUG) console.error(error)
  say(`service logs are in ${relative(repoRoot, logDir)}/; stopping services and chains`)
  await shutdown()
  process.exit(1)
}
