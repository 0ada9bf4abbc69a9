import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import {
  bytesToHex,
  decodeFunctionData,
  encodeFunctionData,
  getAbiItem,
  type Hex,
  hexToBytes,
  isAddressEqual,
  toFunctionSelector,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { afterAll, describe, expect, it } from 'vitest'
import {
  buildDevCollateral,
  buildDevQuote,
  createDevPki,
  createDevProvider,
  parseTdxQuoteV4,
} from '../enclave/attestation/index.js'
import { connect, createCairnReader } from '../ts/client.js'
import { anvilAccount, devRoles } from '../ts/devnet/accounts.js'
import { deployAttestationWithForge } from '../ts/devnet/deploy.js'
import { repoRoot } from '../ts/devnet/paths.js'
import {
  allowMeasurement,
  eciesPublicKeyOf,
  generateEciesPrivateKey,
  isActiveKey,
  type KeyBinding,
  measurementOf,
  registerEnclaveKey,
  registerQuote,
  submitDevCollateral,
  teeRegistryAbi,
  withAttestation,
} from '../ts/index.js'
import { useDevnet } from './anvil.js'
import { type RpcProxy, type RpcRequest, startRpcProxy } from './rpc-proxy.js'

const SEED = 'cairn enclave registration'
const MARKET = 1n

let attestationOut: string | undefined

const current = useDevnet(async (devnet) => {
  const { anvil, deployment, reader } = devnet
  const head = await reader.public.getBlock({ blockTag: 'latest' })
  const pki = createDevPki(SEED, { now: new Date(Number(head.timestamp) * 1000) })
  attestationOut = `deployments/e2e-registration-${anvil.port}.attestation.json`
  const attestation = await deployAttestationWithForge({
    rpcUrl: anvil.rpcUrl,
    chainId: foundry.id,
    deployerKey: anvilAccount(devRoles.deployer).privateKey,
    rootDer: bytesToHex(pki.root.der),
    marketplace: deployment.contracts.proofMarketplace,
    out: attestationOut,
  })
  const owner = withAttestation(devnet.actors.deployer, attestation)
  await submitDevCollateral(owner, buildDevCollateral(pki))
  const td = parseTdxQuoteV4(buildDevQuote(pki, new Uint8Array(64))).body
  const [rtmr0, rtmr1, rtmr2, rtmr3] = td.rtmr.map((rtmr) => bytesToHex(rtmr)) as [Hex, Hex, Hex, Hex]
  const measurement = measurementOf({ mrTd: bytesToHex(td.mrTd), rtmr0, rtmr1, rtmr2, rtmr3 })
  await allowMeasurement(owner, { role: 'Prover', marketId: MARKET, measurement })
  return { pki, attestation }
})

afterAll(async () => {
  if (attestationOut) await rm(join(repoRoot, attestationOut), { force: true })
})

const registry = () => current().fixture.attestation.contracts.teeRegistry
const reportDataForSelector = toFunctionSelector(getAbiItem({ abi: teeRegistryAbi, name: 'reportDataFor' }))
const registerSelector = toFunctionSelector(getAbiItem({ abi: teeRegistryAbi, name: 'register' }))

type CallParams = { to?: string; data?: Hex; input?: Hex }
const callOf = (request: RpcRequest): CallParams | undefined =>
  request.method === 'eth_call' || request.method === 'eth_estimateGas'
    ? (request.params?.[0] as CallParams | undefined)
    : undefined
const calldataOf = (call: CallParams): Hex | undefined => call.data ?? call.input

/** What the host saw of every registration the enclave simulated through it: the quote and the binding. */
function registrationsSeen(proxy: RpcProxy): { quote: Hex; binding: KeyBinding }[] {
  return proxy.requests.flatMap((request) => {
    const call = callOf(request)
    const data = call && calldataOf(call)
    if (!data?.startsWith(registerSelector)) return []
    const { args } = decodeFunctionData({ abi: teeRegistryAbi, data })
    const [quote, binding] = args as [Hex, KeyBinding]
    return [{ quote, binding }]
  })
}

/** The operator's client for the prover account, talking to the chain through `rpcUrl`. */
function proverThrough(rpcUrl: string) {
  const { devnet, fixture } = current()
  const reader = createCairnReader({ chain: foundry, rpcUrl, deployment: devnet.deployment, pollingInterval: 50 })
  return withAttestation(connect(reader, devnet.actors.prover.wallet.account), fixture.attestation)
}

/** Keys the operator made outside the enclave: it holds their private halves. */
function attackerKeys() {
  const signerKey = generatePrivateKey()
  return { signer: privateKeyToAccount(signerKey).address, eciesPublicKey: eciesPublicKeyOf(generateEciesPrivateKey()) }
}

/** The registry's own report data for a binding, read from the real node (not through the host's RPC). */
function registryReportData(binding: KeyBinding): Promise<Hex> {
  return current().devnet.reader.public.readContract({
    address: registry(),
    abi: teeRegistryAbi,
    functionName: 'reportDataFor',
    args: [binding],
  })
}

const quoteReportData = (quote: Hex): Hex => bytesToHex(parseTdxQuoteV4(hexToBytes(quote)).body.reportData)

describe('enclave key registration against a malicious host', () => {
  it('a malicious RPC during key registration cannot get the enclave to quote a binding of its own keys', async () => {
    const { devnet } = current()
    const attacker = attackerKeys()
    // The host's node answers reportDataFor with the report data of the attacker's binding: same operator and block,
    // the attacker's signer and ECIES key.
    const proxy = await startRpcProxy(devnet.anvil.rpcUrl, async (request, forward) => {
      const call = callOf(request)
      const data = call && calldataOf(call)
      if (request.method !== 'eth_call' || !data?.startsWith(reportDataForSelector)) return forward(request)
      const { args } = decodeFunctionData({ abi: teeRegistryAbi, data })
      const [binding] = args as [KeyBinding]
      const forged = encodeFunctionData({
        abi: teeRegistryAbi,
        functionName: 'reportDataFor',
        args: [{ ...binding, ...attacker }],
      })
      return forward({
        ...request,
        params: [{ ...call, data: forged, input: undefined }, ...(request.params ?? []).slice(1)],
      })
    })
    try {
      const enclaveSigner = privateKeyToAccount(generatePrivateKey()).address
      const enclaveEcies = eciesPublicKeyOf(generateEciesPrivateKey())
      const outcome = await registerEnclaveKey(proverThrough(proxy.url), {
        provider: createDevProvider(current().fixture.pki),
        role: 'Prover',
        marketId: MARKET,
        signer: enclaveSigner,
        eciesPublicKey: enclaveEcies,
      }).catch((error: unknown) => error)

      // The host sees the quote (in the registration's simulation) and the binding it was made for.
      const [seen] = registrationsSeen(proxy)
      if (seen === undefined) throw new Error(`the enclave never tried to register: ${String(outcome)}`)
      expect(seen.binding).toMatchObject({ signer: enclaveSigner, eciesPublicKey: enclaveEcies })
      // The quote carries the report data of the enclave's own binding, not the attacker's.
      expect(quoteReportData(seen.quote)).toBe(await registryReportData(seen.binding))

      // The operator registers its own binding with the genuine quote: the registry refuses it.
      const stolenBinding = { ...seen.binding, ...attacker }
      const stolen = await registerQuote(devnet.actors.prover && proverThrough(devnet.anvil.rpcUrl), {
        quote: seen.quote,
        binding: stolenBinding,
      }).catch((error: unknown) => error)
      expect(stolen).toMatchObject({ name: 'ReportDataMismatch' })
      const attackerKey = { role: 'Prover', marketId: MARKET, signer: attacker.signer } as const
      expect(await isActiveKey(proverThrough(devnet.anvil.rpcUrl), attackerKey)).toBe(false)

      // And the enclave's own key is registered.
      expect(outcome).toMatchObject({ role: 'Prover', marketId: MARKET, signer: enclaveSigner })
      expect(isAddressEqual((outcome as { operator: Hex }).operator, devnet.actors.prover.wallet.account.address)).toBe(
        true,
      )
    } finally {
      await proxy.close()
    }
  })
})
