import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type Address,
  bytesToHex,
  decodeFunctionData,
  encodeFunctionData,
  getAbiItem,
  type Hex,
  hexToBytes,
  keccak256,
  size,
  slice,
  toFunctionSelector,
  toHex,
  zeroHash,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { afterAll, describe, expect, it } from 'vitest'
import {
  type AttestationProvider,
  buildDevCollateral,
  buildDevQuote,
  createDevPki,
  createDevProvider,
  devEnclaveAttestation,
  devTdConfigOf,
  enclaveAttestation,
  parseTdxQuoteV4,
  QuoteReportDataError,
  TdConfigurationError,
} from '../enclave/attestation/index.js'
import { connect, createCairnReader } from '../ts/client.js'
import { anvilAccount, devRoles } from '../ts/devnet/accounts.js'
import { deployAttestationWithForge } from '../ts/devnet/deploy.js'
import { repoRoot } from '../ts/devnet/paths.js'
import {
  allowMeasurement,
  type EnclaveConfig,
  eciesPublicKeyOf,
  enclaveConfigId,
  generateEciesPrivateKey,
  getPinnedTdConfig,
  isActiveKey,
  type KeyBinding,
  keyBindingAtHead,
  keyBindingReportData,
  measurementOf,
  mrConfigIdOf,
  pinTdConfig,
  RegistryNotConfiguredError,
  RpcChainMismatchError,
  registerEnclaveKey,
  registerQuote,
  submitDevCollateral,
  type TeeRole,
  teeRegistryAbi,
  withAttestation,
} from '../ts/index.js'
import { useDevnet } from './anvil.js'
import { type RpcProxy, type RpcRequest, startRpcProxy } from './rpc-proxy.js'

const SEED = 'cairn enclave registration'
const MARKET = 1n

let attestationOut: string | undefined

/**
 * The marketplace and an attestation stack on one anvil with the dev collateral, the dev TD's measurement allowed
 * for prover keys in MARKET and for matcher keys, and the bystander admitted as a matcher operator. Nothing pinned:
 * the tests pin what they need.
 */
const current = useDevnet(async (devnet) => {
  const { anvil, deployment, reader, actors } = devnet
  const head = await reader.public.getBlock({ blockTag: 'latest' })
  const pki = createDevPki(SEED, { now: new Date(Number(head.timestamp) * 1000) })
  attestationOut = `deployments/e2e-registration-${anvil.port}.attestation.json`
  const attestation = await deployAttestationWithForge({
    rpcUrl: anvil.rpcUrl,
    chainId: foundry.id,
    deployerKey: anvilAccount(devRoles.deployer).privateKey,
    rootDer: bytesToHex(pki.root.der),
    marketplace: deployment.contracts.proofMarketplace,
    matcherOperators: [actors.bystander.wallet.account.address],
    out: attestationOut,
  })
  const owner = withAttestation(actors.deployer, attestation)
  await submitDevCollateral(owner, buildDevCollateral(pki))
  const td = parseTdxQuoteV4(buildDevQuote(pki, new Uint8Array(64))).body
  const [rtmr0, rtmr1, rtmr2, rtmr3] = td.rtmr.map((rtmr) => bytesToHex(rtmr)) as [Hex, Hex, Hex, Hex]
  const measurement = measurementOf({ mrTd: bytesToHex(td.mrTd), rtmr0, rtmr1, rtmr2, rtmr3 })
  await allowMeasurement(owner, { role: 'Prover', marketId: MARKET, measurement })
  await allowMeasurement(owner, { role: 'Matcher', measurement })
  return { pki, attestation, owner }
})

afterAll(async () => {
  if (attestationOut) await rm(join(repoRoot, attestationOut), { force: true })
})

const registry = (): Address => current().fixture.attestation.contracts.teeRegistry
/** What an enclave launched for `role` keys at this chain's registry attests for. */
const configFor = (role: TeeRole, registryAddress: Address = registry()): EnclaveConfig => ({
  role,
  registries: [{ chainId: foundry.id, registry: registryAddress }],
})
const OTHER_REGISTRY: Address = '0x00000000000000000000000000000000c0ffee00'

const reportDataForSelector = toFunctionSelector(getAbiItem({ abi: teeRegistryAbi, name: 'reportDataFor' }))
const registerSelector = toFunctionSelector(getAbiItem({ abi: teeRegistryAbi, name: 'register' }))

type CallParams = { to?: string; data?: Hex; input?: Hex }
const callOf = (request: RpcRequest): CallParams | undefined =>
  request.method === 'eth_call' || request.method === 'eth_estimateGas'
    ? (request.params?.[0] as CallParams | undefined)
    : undefined
const calldataOf = (request: RpcRequest): Hex | undefined => {
  const call = callOf(request)
  return call?.data ?? call?.input
}

/** What the host saw of every registration the enclave simulated through it: the quote and the binding. */
function registrationsSeen(proxy: RpcProxy): { quote: Hex; binding: KeyBinding }[] {
  return proxy.requests.flatMap((request) => {
    const data = calldataOf(request)
    if (!data?.startsWith(registerSelector)) return []
    const { args } = decodeFunctionData({ abi: teeRegistryAbi, data })
    const [quote, binding] = args as [Hex, KeyBinding]
    return [{ quote, binding }]
  })
}

/** An actor's registry client, talking to the chain through `rpcUrl` (the host's node, or the real one). */
function clientThrough(rpcUrl: string, actor: 'prover' | 'bystander' = 'prover') {
  const { devnet, fixture } = current()
  const reader = createCairnReader({ chain: foundry, rpcUrl, deployment: devnet.deployment, pollingInterval: 50 })
  return withAttestation(connect(reader, devnet.actors[actor].wallet.account), fixture.attestation)
}
const direct = (actor: 'prover' | 'bystander' = 'prover') => clientThrough(current().devnet.anvil.rpcUrl, actor)

/** Keys generated by whoever calls this: an enclave's, or an operator's made outside any enclave. */
function freshKeys() {
  return {
    signer: privateKeyToAccount(generatePrivateKey()).address,
    eciesPublicKey: eciesPublicKeyOf(generateEciesPrivateKey()),
  }
}

/** A quote source that records every quote it hands out. */
function recording(provider: AttestationProvider): AttestationProvider & { quotes: Uint8Array[] } {
  const quotes: Uint8Array[] = []
  return {
    name: provider.name,
    quotes,
    async getQuote(reportData) {
      const quote = await provider.getQuote(reportData)
      quotes.push(quote)
      return quote
    },
  }
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

describe('report data and configuration ids', () => {
  it('keyBindingReportData is the registry’s reportDataFor, for every role and market', async () => {
    const { devnet } = current()
    const head = await devnet.reader.public.getBlock({ blockTag: 'latest' })
    const bindings: KeyBinding[] = [
      { role: 0, marketId: 0n, ...freshKeys(), operator: devnet.actors.bystander.wallet.account.address },
      { role: 1, marketId: MARKET, ...freshKeys(), operator: devnet.actors.prover.wallet.account.address },
      { role: 1, marketId: 2n ** 200n + 7n, ...freshKeys(), operator: devnet.actors.requester.wallet.account.address },
      { role: 2, marketId: 0n, ...freshKeys(), operator: devnet.actors.deployer.wallet.account.address },
    ].map((key, i) => ({ ...key, blockNumber: head.number - BigInt(i), blockHash: keccak256(toHex(i)) }))
    const at = { chainId: foundry.id, registry: registry() }
    for (const binding of bindings) {
      const computed = keyBindingReportData(binding, at)
      expect(size(computed)).toBe(64)
      expect(slice(computed, 32)).toBe(zeroHash)
      expect(computed).toBe(await registryReportData(binding))
    }
    // The chain and the registry are part of it: the same binding elsewhere is another statement.
    const [first] = bindings as [KeyBinding]
    expect(keyBindingReportData(first, { ...at, chainId: 1 })).not.toBe(keyBindingReportData(first, at))
    expect(keyBindingReportData(first, { ...at, registry: OTHER_REGISTRY })).not.toBe(keyBindingReportData(first, at))
  })

  it('a config id names the role and every registry, whatever their order; MRCONFIGID is id ‖ 16 zero bytes', () => {
    const ethereum = { chainId: 1, registry: OTHER_REGISTRY }
    const marketplace = { chainId: foundry.id, registry: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as Address }
    const relayer: EnclaveConfig = { role: 'Relayer', registries: [ethereum, marketplace] }
    const id = enclaveConfigId(relayer)
    expect(enclaveConfigId({ role: 'Relayer', registries: [marketplace, ethereum] })).toBe(id)
    expect(mrConfigIdOf(relayer)).toBe(`${id}${'00'.repeat(16)}`)
    expect(size(mrConfigIdOf(relayer))).toBe(48)
    const others = [
      { role: 'Matcher', registries: [ethereum, marketplace] },
      { role: 'Relayer', registries: [marketplace] },
      { role: 'Relayer', registries: [ethereum, { ...marketplace, chainId: 31338 }] },
      { role: 'Relayer', registries: [ethereum, { ...marketplace, registry: OTHER_REGISTRY }] },
    ] as const
    for (const other of others) expect(enclaveConfigId(other)).not.toBe(id)
    expect(() => enclaveConfigId({ role: 'Relayer', registries: [] })).toThrow(/at least one registry/)
    expect(() => enclaveConfigId({ role: 'Relayer', registries: [ethereum, ethereum] })).toThrow(/listed twice/)
  })

  it('a pinned registry takes keys only from TDs launched for it, and the dev TD shows the tdConfig the SDK pins', async () => {
    const { fixture } = current()
    const config = configFor('Prover')
    await pinTdConfig(fixture.owner, { role: 'Prover', marketId: MARKET, tdConfig: devTdConfigOf(fixture.pki, config) })
    expect(await getPinnedTdConfig(direct(), { role: 'Prover', marketId: MARKET })).toBe(
      devTdConfigOf(fixture.pki, config),
    )

    // An enclave launched for this registry registers.
    const keys = freshKeys()
    const registered = await registerEnclaveKey(direct(), {
      enclave: devEnclaveAttestation(fixture.pki, config),
      marketId: MARKET,
      ...keys,
    })
    expect(registered).toMatchObject({ role: 'Prover', marketId: MARKET, signer: keys.signer })

    // A TD launched for another registry gets a genuine quote for a genuine binding here, but the host that submits
    // it itself (skipping the enclave's own check) is refused by the pin.
    const elsewhere = freshKeys()
    const binding = await keyBindingAtHead(direct(), {
      role: 'Prover',
      marketId: MARKET,
      ...elsewhere,
      operator: direct().wallet.account.address,
    })
    const reportData = keyBindingReportData(binding, { chainId: foundry.id, registry: registry() })
    const foreignTd = createDevProvider(fixture.pki, {
      mrConfigId: hexToBytes(mrConfigIdOf(configFor('Prover', OTHER_REGISTRY))),
    })
    const quote = await foreignTd.getQuote(hexToBytes(reportData))
    const refused = await registerQuote(direct(), { quote, binding }).catch((error: unknown) => error)
    expect(refused).toMatchObject({
      name: 'TdConfigNotPinned',
      args: { pinned: devTdConfigOf(fixture.pki, config) },
    })
    expect(await isActiveKey(direct(), { role: 'Prover', marketId: MARKET, signer: elsewhere.signer })).toBe(false)
  })
})

describe('enclave key registration against a malicious host', () => {
  it('a malicious RPC during key registration cannot get the enclave to quote a binding of its own keys', async () => {
    const { devnet, fixture } = current()
    const attacker = freshKeys()
    // The host's node answers reportDataFor with the report data of the attacker's binding: same operator and block,
    // the attacker's signer and ECIES key.
    const proxy = await startRpcProxy(devnet.anvil.rpcUrl, async (request, forward) => {
      const data = calldataOf(request)
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
        params: [{ ...callOf(request), data: forged, input: undefined }, ...(request.params ?? []).slice(1)],
      })
    })
    try {
      const enclave = freshKeys()
      const registered = await registerEnclaveKey(clientThrough(proxy.url), {
        enclave: devEnclaveAttestation(fixture.pki, configFor('Prover')),
        marketId: MARKET,
        ...enclave,
      })
      // The enclave never asked the host for report data.
      expect(proxy.requests.filter((request) => calldataOf(request)?.startsWith(reportDataForSelector))).toEqual([])

      // The host sees the quote (in the registration's simulation) and the binding it was made for.
      const [seen] = registrationsSeen(proxy)
      if (seen === undefined) throw new Error('the enclave never simulated its registration through the host')
      expect(seen.binding).toMatchObject(enclave)
      // The quote carries the report data of the enclave's own binding, as the registry computes it, not the attacker's.
      expect(quoteReportData(seen.quote)).toBe(await registryReportData(seen.binding))
      expect(quoteReportData(seen.quote)).toBe(registered.reportData)
      expect(quoteReportData(seen.quote)).not.toBe(await registryReportData({ ...seen.binding, ...attacker }))

      // The operator registers its own binding with the genuine quote: the registry refuses it.
      const stolen = await registerQuote(direct(), {
        quote: seen.quote,
        binding: { ...seen.binding, ...attacker },
      }).catch((error: unknown) => error)
      expect(stolen).toMatchObject({ name: 'ReportDataMismatch' })
      expect(await isActiveKey(direct(), { role: 'Prover', marketId: MARKET, signer: attacker.signer })).toBe(false)

      // The enclave's own key is the one registered.
      expect(registered).toMatchObject({
        role: 'Prover',
        marketId: MARKET,
        signer: enclave.signer,
        eciesPublicKey: enclave.eciesPublicKey,
        operator: devnet.actors.prover.wallet.account.address,
      })
      expect(await isActiveKey(direct(), { role: 'Prover', marketId: MARKET, signer: enclave.signer })).toBe(true)
    } finally {
      await proxy.close()
    }
  })

  it('an RPC serving another chain is refused before any quote is taken', async () => {
    const { devnet, fixture } = current()
    // The host's node claims chain 1 (it could be chain 1: a registry at the same address there is another registry).
    const proxy = await startRpcProxy(devnet.anvil.rpcUrl, async (request, forward) =>
      request.method === 'eth_chainId' ? { jsonrpc: '2.0', id: request.id, result: '0x1' } : forward(request),
    )
    try {
      const provider = recording(
        createDevProvider(fixture.pki, { mrConfigId: hexToBytes(mrConfigIdOf(configFor('Matcher'))) }),
      )
      const keys = freshKeys()
      const refused = await registerEnclaveKey(clientThrough(proxy.url, 'bystander'), {
        enclave: enclaveAttestation(provider, configFor('Matcher')),
        ...keys,
      }).catch((error: unknown) => error)
      expect(refused).toBeInstanceOf(RpcChainMismatchError)
      expect(refused).toMatchObject({ served: 1, configured: { chainId: foundry.id, registry: registry() } })
      expect((refused as Error).message).toContain(
        `the RPC serves chain 1, but this enclave registers at ${registry()}`,
      )
      expect(provider.quotes).toEqual([])
      expect(registrationsSeen(proxy)).toEqual([])
      expect(await isActiveKey(direct(), { role: 'Matcher', signer: keys.signer })).toBe(false)
    } finally {
      await proxy.close()
    }
  })

  it('a TD whose MRCONFIGID is for another registry is refused before its quote is used', async () => {
    const { devnet, fixture } = current()
    const proxy = await startRpcProxy(devnet.anvil.rpcUrl, (request, forward) => forward(request))
    try {
      // The operator launched the TD for another registry, then configured the enclave for this one.
      const launchedFor = configFor('Prover', OTHER_REGISTRY)
      const provider = recording(createDevProvider(fixture.pki, { mrConfigId: hexToBytes(mrConfigIdOf(launchedFor)) }))
      const keys = freshKeys()
      const refused = await registerEnclaveKey(clientThrough(proxy.url), {
        enclave: enclaveAttestation(provider, configFor('Prover')),
        marketId: MARKET,
        ...keys,
      }).catch((error: unknown) => error)
      expect(refused).toBeInstanceOf(TdConfigurationError)
      expect(refused).toMatchObject({
        launchedFor: mrConfigIdOf(launchedFor),
        configuredFor: mrConfigIdOf(configFor('Prover')),
      })
      expect((refused as Error).message).toContain(
        `this TD was launched for configuration ${mrConfigIdOf(launchedFor)}, not ${mrConfigIdOf(configFor('Prover'))}`,
      )
      // The quote was taken, then never sent anywhere.
      expect(provider.quotes).toHaveLength(1)
      expect(registrationsSeen(proxy)).toEqual([])
      expect(await isActiveKey(direct(), { role: 'Prover', marketId: MARKET, signer: keys.signer })).toBe(false)
    } finally {
      await proxy.close()
    }
  })

  it('a registry the enclave’s configuration does not name is refused before any quote is taken', async () => {
    const { fixture } = current()
    const provider = recording(createDevProvider(fixture.pki))
    const refused = await registerEnclaveKey(direct(), {
      enclave: enclaveAttestation(provider, configFor('Prover', OTHER_REGISTRY)),
      marketId: MARKET,
      ...freshKeys(),
    }).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(RegistryNotConfiguredError)
    expect((refused as Error).message).toContain(
      `this enclave attests for Prover keys at registry ${OTHER_REGISTRY} on chain ${foundry.id}, not registry ${registry()}`,
    )
    expect(provider.quotes).toEqual([])
  })

  it('a quote for other report data, handed back by the quote source, is refused before it is used', async () => {
    const { devnet, fixture } = current()
    const proxy = await startRpcProxy(devnet.anvil.rpcUrl, (request, forward) => forward(request))
    try {
      const config = configFor('Prover')
      const genuine = devEnclaveAttestation(fixture.pki, config)
      // The host's quote service answers with a genuine quote of this TD, for report data of its choosing.
      const substituted = hexToBytes(
        keyBindingReportData(
          {
            role: 1,
            marketId: MARKET,
            ...freshKeys(),
            operator: devnet.actors.prover.wallet.account.address,
            blockNumber: 1n,
            blockHash: zeroHash,
          },
          { chainId: foundry.id, registry: registry() },
        ),
      )
      const provider: AttestationProvider = {
        name: 'substituting',
        getQuote: () => genuine.provider.getQuote(substituted),
      }
      const refused = await registerEnclaveKey(clientThrough(proxy.url), {
        enclave: enclaveAttestation(provider, config),
        marketId: MARKET,
        ...freshKeys(),
      }).catch((error: unknown) => error)
      expect(refused).toBeInstanceOf(QuoteReportDataError)
      expect(refused).toMatchObject({ actual: bytesToHex(substituted) })
      expect(registrationsSeen(proxy)).toEqual([])
    } finally {
      await proxy.close()
    }
  })
})
