import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type Address,
  bytesToHex,
  concat,
  encodeAbiParameters,
  type Hex,
  isAddressEqual,
  keccak256,
  parseEther,
  slice,
  toHex,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { afterAll, describe, expect, it } from 'vitest'
import {
  buildDevCollateral,
  buildDevQuote,
  createDevPki,
  type DevProviderOptions,
  devEnclaveAttestation,
  parseTdxQuoteV4,
  REPORT_DATA_OFFSET,
  SIGNED_LENGTH,
} from '../enclave/attestation/dev/index.js'
import { connect } from '../ts/client.js'
import { anvilAccount, devRoles } from '../ts/devnet/accounts.js'
import { deployAttestationWithForge, deployTeeProofVerifier } from '../ts/devnet/deploy.js'
import { repoRoot } from '../ts/devnet/paths.js'
import { groth16MarketParams, preimageRequest, preimageStatement } from '../ts/devnet/scenario.js'
import type { Devnet } from '../ts/devnet/stack.js'
import {
  admittedOperatorCount,
  allowMeasurement,
  balanceOf,
  CairnContractError,
  chainTime,
  createMarket,
  createRequest,
  fulfil,
  getActiveOperator,
  getBalance,
  getRequestState,
  isActiveKey,
  isAdmittedOperator,
  type KeyBinding,
  keyBindingReportData,
  list,
  measurementOf,
  mintDevToken,
  OperatorNotAdmittedError,
  type ProofContext,
  proofContextOf,
  proofMarketplaceAbi,
  type RequestParams,
  register,
  registerEnclaveKey,
  registerQuote,
  setMatcherAuthority,
  setOperatorAdmitted,
  signAssignments,
  signTeeProof,
  stake,
  submitAssignments,
  submitDevCollateral,
  TEE_DIGEST_EIP712,
  TEE_DIGEST_SP1,
  type TeeClient,
  type TeeRole,
  teeProofBindingWord,
  teeProofDigest,
  teeProofVerifierAbi,
  teeRegistryAbi,
  withAttestation,
  withListedTerms,
} from '../ts/index.js'
import { advanceTime, useDevnet } from './anvil.js'

const SEED = 'cairn tee e2e'
const ATTEST_VALIDITY = 3600n
const STAKE = parseEther('1000')
const PRICE = parseEther('25')
const MAX_REWARD = parseEther('40')
const PROVING_TIME = 600
/** A WASM module header: the program a TEE market proves is identified by the hash of its bytes. */
const WASM = '0x0061736d0100000001050160017f00' as const
const PROGRAM_ID = keccak256(WASM)
/** Enclave keys are generated inside the TD; here they are fixed so failures reproduce. */
const enclaveKey = (label: string) => privateKeyToAccount(keccak256(toHex(`cairn tee e2e ${label}`)))
/** The ECIES key an enclave publishes next to its signing key: x ‖ y of a secp256k1 key. */
const eciesKeyOf = (label: string): Hex => slice(enclaveKey(`${label} ecies`).publicKey, 1)

let attestationOut: string | undefined

/**
 * Marketplace (Deploy.s.sol) and attestation stack (DeployAttestation.s.sol) on one anvil, with dev collateral whose
 * validity covers the chain's clock, the dev TD's measurement allowed for matchers, and one staked prover listed in
 * a Groth16 market.
 */
const current = useDevnet(async (devnet) => {
  const { actors, anvil, deployment, reader } = devnet
  const head = await reader.public.getBlock({ blockTag: 'latest' })
  const pki = createDevPki(SEED, { now: new Date(Number(head.timestamp) * 1000) })
  attestationOut = `deployments/e2e-${anvil.port}.attestation.json`
  const attestation = await deployAttestationWithForge({
    rpcUrl: anvil.rpcUrl,
    chainId: foundry.id,
    deployerKey: anvilAccount(devRoles.deployer).privateKey,
    rootDer: bytesToHex(pki.root.der),
    marketplace: deployment.contracts.proofMarketplace,
    // Governance admits the bystander as a matcher operator: it registers the matcher keys below from its account.
    matcherOperators: [actors.bystander.wallet.account.address],
    out: attestationOut,
  })
  const owner = withAttestation(actors.deployer, attestation)
  const collateral = buildDevCollateral(pki)
  const submitted = await submitDevCollateral(owner, collateral)

  // The dev provider's TD: its measurement is what the allow-list is keyed by.
  const td = parseTdxQuoteV4(buildDevQuote(pki, new Uint8Array(64))).body
  const measurement = measurementOf({
    mrTd: bytesToHex(td.mrTd),
    rtmr0: bytesToHex(td.rtmr[0]),
    rtmr1: bytesToHex(td.rtmr[1]),
    rtmr2: bytesToHex(td.rtmr[2]),
    rtmr3: bytesToHex(td.rtmr[3]),
  })
  await allowMeasurement(owner, { role: 'Matcher', measurement })

  const { marketId } = await createMarket(actors.deployer, groth16MarketParams(deployment))
  const prover = actors.prover.wallet.account.address
  await mintDevToken(actors.prover, deployment.contracts.stakeToken, prover, STAKE)
  await register(actors.prover, { capacity: 4 })
  await stake(actors.prover, { amount: STAKE })
  await list(actors.prover, { marketId, price: PRICE, provingTime: PROVING_TIME })

  return { pki, collateral, submitted, attestation, measurement, marketId }
})

afterAll(async () => {
  if (attestationOut) await rm(join(repoRoot, attestationOut), { force: true })
})

type Role = keyof Devnet['actors']
const tee = (devnet: Devnet, role: Role): TeeClient =>
  withAttestation(devnet.actors[role], current().fixture.attestation)
const addressOf = (devnet: Devnet, role: Role): Address => devnet.actors[role].wallet.account.address
/** The dev stand-in for a TD launched for `role` keys at this chain's registry. */
const enclaveFor = (role: TeeRole, options: Omit<DevProviderOptions, 'mrConfigId'> = {}) => {
  const { pki, attestation } = current().fixture
  const registries = [{ chainId: foundry.id, registry: attestation.contracts.teeRegistry }]
  return devEnclaveAttestation(pki, { role, registries }, options)
}

async function timestampOf(devnet: Devnet, blockNumber: bigint): Promise<bigint> {
  return (await devnet.reader.public.getBlock({ blockNumber })).timestamp
}

/** The requester posts a request to `marketId` with `publicInputs`, escrowing MAX_REWARD. */
async function postRequest(
  devnet: Devnet,
  marketId: bigint,
  publicInputs: Hex,
  overrides: Partial<RequestParams> = {},
) {
  const { actors, deployment, reader } = devnet
  await mintDevToken(actors.requester, deployment.contracts.paymentToken, addressOf(devnet, 'requester'), MAX_REWARD)
  const params = preimageRequest({
    marketId,
    now: await chainTime(reader),
    publicInputs,
    maxReward: MAX_REWARD,
    refundAddress: addressOf(devnet, 'requester'),
    schedule: { provingTime: PROVING_TIME },
  })
  return createRequest(actors.requester, { ...params, ...overrides })
}

describe('attested enclave keys on anvil, through the real on-chain DCAP verifier', () => {
  it('deploys the attestation stack and accepts the dev collateral', async () => {
    const { devnet, fixture } = current()
    const { attestation, pki, submitted, collateral } = fixture
    expect(attestation.chainId).toBe(foundry.id)
    expect(attestation.intelRoot).toBe(false)
    expect(isAddressEqual(attestation.owner, addressOf(devnet, 'deployer'))).toBe(true)
    expect(attestation.marketplace).toBe(devnet.deployment.contracts.proofMarketplace)

    const registry = { address: attestation.contracts.teeRegistry, abi: teeRegistryAbi } as const
    const read = devnet.reader.public
    expect(await read.readContract({ ...registry, functionName: 'quoteVerifier' })).toBe(
      attestation.contracts.dcapTdxVerifier,
    )
    for (const role of [0, 1, 2]) {
      expect(await read.readContract({ ...registry, functionName: 'roleAdmin', args: [role] })).toBe(attestation.owner)
    }
    expect(await read.readContract({ ...registry, functionName: 'attestValiditySeconds' })).toBe(ATTEST_VALIDITY)

    const seconds = (date: Date) => BigInt(date.getTime() / 1000)
    expect(submitted.rootCrl).toMatchObject({
      thisUpdate: seconds(pki.rootCaCrl.thisUpdate),
      nextUpdate: seconds(pki.rootCaCrl.nextUpdate),
      revokedCount: 0n,
    })
    expect(submitted.pckCrl).toMatchObject({
      thisUpdate: seconds(pki.pckCrl.thisUpdate),
      nextUpdate: seconds(pki.pckCrl.nextUpdate),
      revokedCount: 0n,
    })
    expect(submitted.pckCa?.serialNumber).toBe(pki.platformCa.serialNumber)
    const tcbInfo = JSON.parse(collateral.tcb_info) as { fmspc: string; tcbEvaluationDataNumber: number }
    expect(submitted.tcbInfo).toEqual({
      fmspc: `0x${tcbInfo.fmspc.toLowerCase()}`,
      issueDate: seconds(pki.now) - 86_400n,
      nextUpdate: seconds(pki.now) + 30n * 86_400n,
      evaluationDataNumber: tcbInfo.tcbEvaluationDataNumber,
    })
    expect(submitted.qeIdentity.issueDate).toBe(seconds(pki.now) - 86_400n)
    expect(submitted.receipts.map((receipt) => receipt.status)).toEqual(['success', 'success', 'success', 'success'])

    // The SDK's measurement is the registry's.
    const td = parseTdxQuoteV4(buildDevQuote(pki, new Uint8Array(64))).body
    const onChain = await read.readContract({
      ...registry,
      functionName: 'measurementOf',
      args: [bytesToHex(td.mrTd), ...td.rtmr.map((rtmr) => bytesToHex(rtmr))] as [Hex, Hex, Hex, Hex, Hex],
    })
    expect(onChain).toBe(fixture.measurement)
  })

  it('(a) a dev quote registers a matcher key, and the registry as matcher authority admits only attested keys', async () => {
    const { devnet, fixture } = current()
    const { reader, actors, deployment } = devnet
    const matcherEnclave = enclaveKey('matcher')
    const eciesPublicKey = eciesKeyOf('matcher')

    const registered = await registerEnclaveKey(tee(devnet, 'bystander'), {
      enclave: enclaveFor('Matcher'),
      signer: matcherEnclave.address,
      eciesPublicKey,
    })
    const registeredAt = await timestampOf(devnet, registered.receipt.blockNumber)
    expect(registered).toMatchObject({
      role: 'Matcher',
      marketId: 0n,
      signer: matcherEnclave.address,
      // The sending account, an admitted matcher operator, is the key's operator.
      operator: addressOf(devnet, 'bystander'),
      eciesPublicKey,
      measurement: fixture.measurement,
      expiresAt: registeredAt + ATTEST_VALIDITY,
      // The quote's id is the hash of what its attestation key signed: header ‖ TD report.
      quoteId: keccak256(slice(registered.quote, 0, SIGNED_LENGTH)),
    })
    // Bound to the block before the head it was built at, within the registry's window.
    expect(registered.binding.blockNumber).toBe(registered.receipt.blockNumber - 2n)
    expect(registered.binding.blockHash).toBe(
      (await reader.public.getBlock({ blockNumber: registered.binding.blockNumber })).hash,
    )
    // Report data: the registry's digest of this binding (chain and registry included), computed by the enclave itself
    // (keyBindingReportData equals TeeRegistry.reportDataFor: enclave-registration.test.ts), inside the quote.
    expect(registered.binding).toMatchObject({
      role: 0,
      marketId: 0n,
      signer: matcherEnclave.address,
      eciesPublicKey,
      operator: addressOf(devnet, 'bystander'),
    })
    expect(registered.reportData).toBe(
      keyBindingReportData(registered.binding, {
        chainId: foundry.id,
        registry: fixture.attestation.contracts.teeRegistry,
      }),
    )
    expect(slice(registered.quote, REPORT_DATA_OFFSET, REPORT_DATA_OFFSET + 64)).toBe(registered.reportData)

    const key = { role: 'Matcher', signer: matcherEnclave.address } as const
    expect(await isActiveKey(tee(devnet, 'bystander'), key)).toBe(true)
    expect(await isActiveKey(tee(devnet, 'bystander'), { ...key, role: 'Relayer' })).toBe(false)
    expect(await getActiveOperator(tee(devnet, 'bystander'), key)).toBe(addressOf(devnet, 'bystander'))
    const registry = { address: fixture.attestation.contracts.teeRegistry, abi: teeRegistryAbi } as const
    expect(
      await reader.public.readContract({
        ...registry,
        functionName: 'eciesPublicKey',
        args: [0, 0n, matcherEnclave.address],
      }),
    ).toBe(eciesPublicKey)

    // The marketplace owner hands matcher authority to the registry.
    await setMatcherAuthority(actors.deployer, fixture.attestation.contracts.teeRegistry)
    expect(
      await reader.public.readContract({
        address: deployment.contracts.proofMarketplace,
        abi: proofMarketplaceAbi,
        functionName: 'matcherAuthority',
      }),
    ).toBe(fixture.attestation.contracts.teeRegistry)

    const { preimage: _, ...statement } = await preimageStatement()
    const created = await postRequest(devnet, fixture.marketId, statement.publicInputs)
    const prover = addressOf(devnet, 'prover')
    const assignment = {
      assignments: await withListedTerms(reader, [{ requestId: created.requestId, prover, request: created.request }]),
      validUntil: (await chainTime(reader)) + 300n,
    }

    // The old owner-set matcher key no longer authorises anything.
    const byOldKey = await signAssignments(actors.matcher, assignment)
    const refused = await submitAssignments(actors.bystander, byOldKey).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(CairnContractError)
    expect(refused).toMatchObject({
      name: 'NotMatcher',
      args: { signer: addressOf(devnet, 'matcher') },
      message: `NotMatcher(signer=${addressOf(devnet, 'matcher')})`,
    })
    expect(await getRequestState(reader, created)).toBe('Open')

    // The enclave's attested key does; a bystander submits its batch.
    const byEnclave = await signAssignments(connect(reader, matcherEnclave), assignment)
    const outcome = await submitAssignments(actors.bystander, byEnclave)
    expect(outcome.skipped).toEqual([])
    expect(outcome.assigned).toHaveLength(1)
    expect(outcome.assigned[0]).toMatchObject({ requestId: created.requestId, prover, byMatcher: true })
    expect(outcome.assigned[0]?.task.price).toBe(PRICE)
    expect(await getRequestState(reader, created.requestId)).toBe('Assigned')
  })

  it('(b) rotation before expiry: both keys overlap, then only the newer one is active', async () => {
    const { devnet } = current()
    const owner = tee(devnet, 'bystander')
    const first = enclaveKey('matcher 1')
    const second = enclaveKey('matcher 2')

    const one = await registerEnclaveKey(owner, {
      enclave: enclaveFor('Matcher'),
      signer: first.address,
      eciesPublicKey: eciesKeyOf('matcher 1'),
    })
    expect(one.expiresAt).toBe((await timestampOf(devnet, one.receipt.blockNumber)) + ATTEST_VALIDITY)

    // Re-attest ahead of expiry with a fresh quote (a new binding, so new report data and a new quote id).
    await advanceTime(devnet, 3000)
    const two = await registerEnclaveKey(owner, {
      enclave: enclaveFor('Matcher'),
      signer: second.address,
      eciesPublicKey: eciesKeyOf('matcher 2'),
    })
    expect(two.quoteId).not.toBe(one.quoteId)
    expect(two.expiresAt).toBe((await timestampOf(devnet, two.receipt.blockNumber)) + ATTEST_VALIDITY)
    expect(two.expiresAt - one.expiresAt).toBeGreaterThanOrEqual(3000n)

    const active = async () => [
      await isActiveKey(owner, { role: 'Matcher', signer: first.address }),
      await isActiveKey(owner, { role: 'Matcher', signer: second.address }),
    ]
    expect(await active()).toEqual([true, true])

    // Move to the first key's expiry: a key is active strictly before expiresAt.
    const now = await chainTime(devnet.reader)
    await advanceTime(devnet, Number(one.expiresAt - now))
    const after = await chainTime(devnet.reader)
    expect(after >= one.expiresAt && after < two.expiresAt).toBe(true)
    expect(await active()).toEqual([false, true])
  })

  it('(c) a TEE-proof market: request, assignment, fulfilment with a proof signed by the attested prover key', async () => {
    const { devnet, fixture } = current()
    const { reader, actors, deployment } = devnet
    const { paymentToken, proofMarketplace } = deployment.contracts
    const owner = tee(devnet, 'deployer')
    const proverEnclave = enclaveKey('prover')

    // One verifier per market: it is built for the id the market is about to get.
    const marketCount = await reader.public.readContract({
      address: proofMarketplace,
      abi: proofMarketplaceAbi,
      functionName: 'marketCount',
    })
    const nextMarketId = BigInt(marketCount) + 1n
    const verifier = await deployTeeProofVerifier(actors.deployer, {
      registry: fixture.attestation.contracts.teeRegistry,
      marketId: nextMarketId,
      programId: PROGRAM_ID,
    })
    const teeVerifier = { address: verifier, abi: teeProofVerifierAbi } as const
    expect(await reader.public.readContract({ ...teeVerifier, functionName: 'programId' })).toBe(PROGRAM_ID)
    const { marketId } = await createMarket(
      actors.deployer,
      groth16MarketParams(deployment, { verifier, metadataURI: 'ipfs://cairn-devnet/wasm-program' }),
    )
    expect(marketId).toBe(nextMarketId)

    await allowMeasurement(owner, { role: 'Prover', marketId, measurement: fixture.measurement })
    // The prover registers its own enclave's key: the registry binds the key to the account that submits it.
    const registered = await registerEnclaveKey(tee(devnet, 'prover'), {
      enclave: enclaveFor('Prover'),
      marketId,
      signer: proverEnclave.address,
      eciesPublicKey: eciesKeyOf('prover'),
    })
    expect(registered).toMatchObject({
      role: 'Prover',
      marketId,
      signer: proverEnclave.address,
      operator: addressOf(devnet, 'prover'),
    })
    // A prover key serves its market only.
    expect(await isActiveKey(owner, { role: 'Prover', marketId, signer: proverEnclave.address })).toBe(true)
    expect(await isActiveKey(owner, { role: 'Prover', marketId: 1n, signer: proverEnclave.address })).toBe(false)

    await list(actors.prover, { marketId, price: PRICE, provingTime: PROVING_TIME })
    const publicValues = encodeAbiParameters([{ type: 'string' }, { type: 'uint256' }], ['wasm output', 42n])
    const created = await postRequest(devnet, marketId, publicValues)
    const prover = addressOf(devnet, 'prover')
    const batch = await signAssignments(actors.matcher, {
      assignments: await withListedTerms(reader, [{ requestId: created.requestId, prover, request: created.request }]),
      validUntil: (await chainTime(reader)) + 300n,
    })
    const [assigned] = (await submitAssignments(actors.bystander, batch)).assigned
    if (!assigned) throw new Error('not assigned')

    // The SDK's digests are the verifier's, in both forms, for the statement of exactly this request.
    expect(
      isAddressEqual(
        await reader.public.readContract({ ...teeVerifier, functionName: 'marketplace' }),
        proofMarketplace,
      ),
    ).toBe(true)
    const context = proofContextOf(assigned)
    const statement = {
      verifier,
      chainId: foundry.id,
      marketplace: proofMarketplace,
      ...context,
      programId: PROGRAM_ID,
      publicValues,
    }
    expect(teeProofBindingWord(statement)).toBe(
      await reader.public.readContract({ ...teeVerifier, functionName: 'bindingWord', args: [context] }),
    )
    for (const kind of [TEE_DIGEST_EIP712, TEE_DIGEST_SP1] as const) {
      expect(teeProofDigest(kind, statement)).toBe(
        await reader.public.readContract({
          ...teeVerifier,
          functionName: 'digest',
          args: [kind, publicValues, context],
        }),
      )
    }
    const verify = (inputs: Hex, proof: Hex, at: ProofContext = context) =>
      reader.public.readContract({ ...teeVerifier, functionName: 'verify', args: [inputs, proof, at] })
    const proof = await signTeeProof(proverEnclave, { ...statement, kind: TEE_DIGEST_EIP712 })
    expect(await verify(publicValues, proof)).toBe(true)
    expect(await verify(publicValues, await signTeeProof(proverEnclave, { ...statement, kind: TEE_DIGEST_SP1 }))).toBe(
      true,
    )
    const unattested = await signTeeProof(enclaveKey('stranger'), { ...statement, kind: TEE_DIGEST_EIP712 })
    expect(await verify(publicValues, unattested)).toBe(false)
    expect(await verify(`${publicValues}00`, proof)).toBe(false)
    // The proof speaks for this request, its inputs and its assigned prover only.
    expect(await verify(publicValues, proof, { ...context, requestId: context.requestId + 1n })).toBe(false)
    expect(await verify(publicValues, proof, { ...context, inputsDigest: keccak256(publicValues) })).toBe(false)
    expect(await verify(publicValues, proof, { ...context, prover: addressOf(devnet, 'bystander') })).toBe(false)

    const fulfilled = await fulfil(actors.prover, { ...assigned, publicInputs: publicValues, proof })
    expect(fulfilled).toMatchObject({ requestId: created.requestId, price: PRICE, refund: MAX_REWARD - PRICE })
    expect(await getRequestState(reader, created.requestId)).toBe('Fulfilled')
    expect({
      marketplace: await balanceOf(reader, paymentToken, proofMarketplace),
      requesterTokens: await balanceOf(reader, paymentToken, addressOf(devnet, 'requester')),
      requester: await getBalance(reader, addressOf(devnet, 'requester'), paymentToken),
      prover: await getBalance(reader, prover, paymentToken),
    }).toEqual({ marketplace: MAX_REWARD, requesterTokens: 0n, requester: MAX_REWARD - PRICE, prover: PRICE })
  })

  it('(d) a replayed quote is refused, also when padded', async () => {
    const { devnet } = current()
    const client = tee(devnet, 'bystander')
    const signer = enclaveKey('replayed').address
    const registered = await registerEnclaveKey(client, {
      enclave: enclaveFor('Matcher'),
      signer,
      eciesPublicKey: eciesKeyOf('replayed'),
    })
    const replay = (quote: Hex, binding: KeyBinding = registered.binding) =>
      registerQuote(client, { quote, binding }).catch((error: unknown) => error)

    const again = await replay(registered.quote)
    expect(again).toBeInstanceOf(CairnContractError)
    expect(again).toMatchObject({
      name: 'QuoteAlreadyUsed',
      args: { quoteId: registered.quoteId },
      message: `QuoteAlreadyUsed(quoteId=${registered.quoteId})`,
    })
    // Padding is outside the signed content, so it does not make a new quote.
    const padded = concat([registered.quote, `0x${'00'.repeat(63)}01`])
    expect(await replay(padded)).toMatchObject({ name: 'QuoteAlreadyUsed', args: { quoteId: registered.quoteId } })
    // Nor does the same quote serve another key: its report data binds the signer.
    const thief = enclaveKey('thief').address
    expect(await replay(registered.quote, { ...registered.binding, signer: thief })).toMatchObject({
      name: 'ReportDataMismatch',
    })
    expect(await isActiveKey(client, { role: 'Matcher', signer: thief })).toBe(false)
  })

  it('(e) a debug TD is refused', async () => {
    const { devnet } = current()
    const client = tee(devnet, 'bystander')
    const signer = enclaveKey('debug').address
    const refused = await registerEnclaveKey(client, {
      enclave: enclaveFor('Matcher', { debug: true }),
      signer,
      eciesPublicKey: eciesKeyOf('debug'),
    }).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(CairnContractError)
    expect(refused).toMatchObject({ name: 'DebugTdNotAllowed', args: {}, message: 'DebugTdNotAllowed()' })
    expect(await isActiveKey(client, { role: 'Matcher', signer })).toBe(false)
  })

  it('(f) matcher keys belong to admitted operators: registered only from the operator’s own account, deactivated with it', async () => {
    const { devnet, fixture } = current()
    const { reader } = devnet
    const registry = fixture.attestation.contracts.teeRegistry
    const operator = addressOf(devnet, 'bystander')
    const outsider = addressOf(devnet, 'requester')
    expect(await isAdmittedOperator(tee(devnet, 'deployer'), { role: 'Matcher', operator })).toBe(true)
    expect(await admittedOperatorCount(tee(devnet, 'deployer'), 'Matcher')).toBe(1)

    // An account governance never admitted is refused before any quote is taken, with what to do about it.
    const enclave = enclaveKey('operated matcher')
    const notAdmitted = await registerEnclaveKey(tee(devnet, 'requester'), {
      enclave: enclaveFor('Matcher'),
      signer: enclave.address,
      eciesPublicKey: eciesKeyOf('operated matcher'),
    }).catch((error: unknown) => error)
    expect(notAdmitted).toBeInstanceOf(OperatorNotAdmittedError)
    expect(notAdmitted).toMatchObject({ role: 'Matcher', operator: outsider, registry })
    expect((notAdmitted as Error).message).toContain(`operator ${outsider} is not admitted for the Matcher role`)

    // The admitted operator registers it; nobody can attach it to the operator from another account.
    const registered = await registerEnclaveKey(tee(devnet, 'bystander'), {
      enclave: enclaveFor('Matcher'),
      signer: enclave.address,
      eciesPublicKey: eciesKeyOf('operated matcher'),
    })
    expect(registered.operator).toBe(operator)
    const stolen = await registerQuote(tee(devnet, 'requester'), {
      quote: registered.quote,
      binding: registered.binding,
    }).catch((error: unknown) => error)
    expect(stolen).toMatchObject({ name: 'OperatorMustRegister', args: { operator, caller: outsider } })
    const key = { role: 'Matcher', signer: enclave.address } as const
    expect(await isActiveKey(tee(devnet, 'requester'), key)).toBe(true)

    // Governance removes the operator: every key it registered is inactive at once, as a matcher too.
    const removed = await setOperatorAdmitted(tee(devnet, 'deployer'), { role: 'Matcher', operator, admitted: false })
    expect(removed).toMatchObject({ operator, admitted: false, admittedCount: 0 })
    expect(await isActiveKey(tee(devnet, 'requester'), key)).toBe(false)
    expect(await getActiveOperator(tee(devnet, 'requester'), key)).toBeUndefined()
    expect(
      await reader.public.readContract({
        address: registry,
        abi: teeRegistryAbi,
        functionName: 'isMatcher',
        args: [enclave.address],
      }),
    ).toBe(false)
    expect(
      await reader.public.readContract({
        address: registry,
        abi: teeRegistryAbi,
        functionName: 'eciesPublicKey',
        args: [0, 0n, enclave.address],
      }),
    ).toBe('0x')
    // Only the role's admin decides.
    const byOutsider = await setOperatorAdmitted(tee(devnet, 'requester'), { role: 'Matcher', operator }).catch(
      (error: unknown) => error,
    )
    expect(byOutsider).toMatchObject({ name: 'NotRoleAdmin', args: { caller: outsider } })
    // Admitted again, its unexpired keys are back.
    await setOperatorAdmitted(tee(devnet, 'deployer'), { role: 'Matcher', operator })
    expect(await isActiveKey(tee(devnet, 'requester'), key)).toBe(true)
  })
})
