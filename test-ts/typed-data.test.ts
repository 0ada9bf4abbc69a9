// Every struct the contracts verify signatures over has one EIP-712 definition
// in the SDK (ts/typed-data.ts) and one type library in Solidity (src/types/). This keeps the two equal, per struct: (a) the SDK types' encodeType is the
// type string the library composes, hashed to the typehash the contracts use, and (b) the digest viem computes from
// the SDK's typed data is the contract's own (its digest view, or for the marketplace, which is at the contract size
// limit and has none, its recovered signer and the library's struct hash). One anvil, one deployment: the contracts
// are deployed from their forge artifacts (out/, built by `npm run build`), with placeholder peers.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type Abi,
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createTestClient,
  createWalletClient,
  getAddress,
  getTypesForEIP712Domain,
  type Hex,
  hashDomain,
  hashStruct,
  hashTypedData,
  http,
  keccak256,
  toHex,
  zeroAddress,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXECUTED, type SlashOutcome, slashOutcomesTypedData, VETOED } from '../relayer/src/outcomes.js'
import { slashBatchTypedData } from '../relayer/src/slashes.js'
import { snapshotTypedData } from '../relayer/src/snapshots.js'
import { assignmentTypedData } from '../ts/assignment.js'
import type { Deployment } from '../ts/deployment.js'
import { anvilAccount } from '../ts/devnet/accounts.js'
import { type Anvil, startAnvil } from '../ts/devnet/anvil.js'
import {
  cairnNetworkMiddlewareAbi,
  iSignedFulfilmentsAbi,
  iSignedRequestsAbi,
  proofMarketplaceAbi,
  slashInboxAbi,
  stakeMirrorAbi,
  teeProofVerifierAbi,
} from '../ts/generated.js'
import { operatorBindingTypedData } from '../ts/restaking.js'
import { repoRoot } from '../ts/root.js'
import { invalidInputsTypedData } from '../ts/settlement.js'
import { signedRequestId, signedRequestTypedData } from '../ts/signed-requests.js'
import { TEE_DIGEST_EIP712, teeProofTypedData } from '../ts/tee.js'
import { cairnTypedData, signedTypes } from '../ts/typed-data.js'

type Field = { readonly name: string; readonly type: string }
type Types = Readonly<Record<string, readonly Field[]>>

/** EIP-712 encodeType: the type, then every type it references (transitively), in alphabetical order. */
function encodeType(types: Types, primaryType: string): string {
  const referenced = new Set<string>()
  const visit = (type: string) => {
    for (const field of types[type] ?? []) {
      const base = field.type.replace(/(\[\d*\])+$/, '')
      if (base !== primaryType && base in types && !referenced.has(base)) {
        referenced.add(base)
        visit(base)
      }
    }
  }
  visit(primaryType)
  return [primaryType, ...[...referenced].sort()]
    .map((type) => `${type}(${(types[type] ?? []).map((field) => `${field.type} ${field.name}`).join(',')})`)
    .join('')
}

/** Where a linked library's address goes in a contract's bytecode: forge's linkReferences (byte offsets). */
type LinkReferences = Record<string, Record<string, { start: number; length: number }[]>>

async function artifact(
  contract: string,
  libraries: Record<string, Address> = {},
): Promise<{ abi: Abi; bytecode: Hex; libraries: string[] }> {
  const path = join(repoRoot, 'out', `${contract}.sol`, `${contract}.json`)
  const json = JSON.parse(await readFile(path, 'utf8')) as {
    abi: Abi
    bytecode: { object: Hex; linkReferences?: LinkReferences }
  }
  let code = json.bytecode.object.slice(2)
  const needed: string[] = []
  for (const byName of Object.values(json.bytecode.linkReferences ?? {})) {
    for (const [name, places] of Object.entries(byName)) {
      needed.push(name)
      const address = libraries[name]
      if (address === undefined) continue
      for (const { start, length } of places) {
        code = code.slice(0, start * 2) + address.slice(2).toLowerCase() + code.slice((start + length) * 2)
      }
    }
  }
  return { abi: json.abi, bytecode: `0x${code}`, libraries: needed }
}

type HarnessType = { primaryType: string; encodeType: string; typehash: Hex }

let anvil: Anvil
const deployer = anvilAccount(0).account
const chainId = foundry.id
let publicClient: ReturnType<typeof createPublicClient<ReturnType<typeof http>, typeof foundry>>
const at: Record<'harness' | 'marketplace' | 'mirror' | 'inbox' | 'middleware' | 'teeVerifier', Address> = {
  harness: zeroAddress,
  teeVerifier: zeroAddress,
  marketplace: zeroAddress,
  mirror: zeroAddress,
  inbox: zeroAddress,
  middleware: zeroAddress,
}
let harnessAbi: Abi
let solidityTypes: HarnessType[]
const token = getAddress('0x00000000000000000000000000000000000000e7')
const sourceChainId = 1
const teeMarketId = 3n
const teeProgramId = toHex(0x7ee, { size: 32 })

beforeAll(async () => {
  anvil = await startAnvil()
  const transport = http(anvil.rpcUrl)
  publicClient = createPublicClient({ chain: foundry, transport })
  const wallet = createWalletClient({ chain: foundry, transport, account: deployer })
  const test = createTestClient({ chain: foundry, transport, mode: 'anvil' })
  // Peers the constructors only check for code or a non-zero address: the middleware registers itself with
  // Symbiotic's registries in its constructor, so those get code that accepts any call (a lone STOP).
  const stub = getAddress('0x000000000000000000000000000000000000c0de')
  await test.setCode({ address: stub, bytecode: '0x00' })
  // Libraries the contracts link against (the marketplace's ProofVerification), deployed first.
  const libraries: Record<string, Address> = {}
  const deploy = async (contract: string, args: readonly unknown[]): Promise<Address> => {
    const needed = (await artifact(contract)).libraries.filter((name) => libraries[name] === undefined)
    for (const name of needed) libraries[name] = await deploy(name, [])
    const { abi, bytecode } = await artifact(contract, libraries)
    const hash = await wallet.deployContract({ abi, bytecode, args })
    const receipt = await publicClient.waitForTransactionReceipt({ hash })
    if (!receipt.contractAddress) throw new Error(`${contract} not deployed`)
    return receipt.contractAddress
  }
  const authority = await deploy('OwnedMatcherAuthority', [deployer.address])
  const fulfilments = await deploy('SignedFulfilmentModule', [stub])
  at.marketplace = await deploy('ProofMarketplace', [deployer.address, stub, deployer.address, authority, fulfilments])
  at.mirror = await deploy('StakeMirror', [deployer.address, at.marketplace, stub, token, 1, 0])
  at.middleware = await deploy('CairnNetworkMiddleware', [deployer.address, stub, stub, stub, stub, 0])
  at.inbox = await deploy('SlashInbox', [deployer.address, at.middleware, stub, sourceChainId, at.mirror, 1])
  at.teeVerifier = await deploy('TeeProofVerifier', [stub, at.marketplace, teeMarketId, teeProgramId])
  at.harness = await deploy('TypedDataHarness', [])
  harnessAbi = (await artifact('TypedDataHarness')).abi
  solidityTypes = (await publicClient.readContract({
    address: at.harness,
    abi: harnessAbi,
    functionName: 'types',
  })) as HarnessType[]
})

afterAll(async () => {
  await anvil?.stop()
})

/** The deployment the SDK's marketplace typed data reads: only the chain and the marketplace's address count. */
function deploymentOf(marketplace: Address): Deployment {
  const contracts = {
    proofMarketplace: marketplace,
    proverRegistry: zeroAddress,
    signedFulfilmentModule: zeroAddress,
    nativeStaking: zeroAddress,
    matcherAuthority: zeroAddress,
    paymentToken: zeroAddress,
    stakeToken: zeroAddress,
    groth16Verifier: zeroAddress,
    groth16Adapter: zeroAddress,
    noirHonkVerifier: zeroAddress,
    noirAdapter: zeroAddress,
    requestLens: zeroAddress,
  }
  return { chainId, deployBlock: 0n, owner: zeroAddress, treasury: zeroAddress, matcher: zeroAddress, contracts }
}

const address = (n: number) => getAddress(`0x${n.toString(16).padStart(40, '0')}`)
const word = (n: number) => toHex(n, { size: 32 })

describe('EIP-712 types: the SDK against the Solidity type libraries', () => {
  it('every SDK type has a Solidity type and every Solidity type an SDK one', () => {
    const sdk = new Set(Object.values(signedTypes).flatMap(({ types }) => Object.keys(types)))
    expect([...sdk].sort()).toEqual(solidityTypes.map((t) => t.primaryType).sort())
  })

  it.each(Object.entries(signedTypes))('%s: encodeType and typehash of every type in it', (_, definition) => {
    for (const type of Object.keys(definition.types)) {
      const solidity = solidityTypes.find((t) => t.primaryType === type)
      expect(encodeType(definition.types, type), type).toBe(solidity?.encodeType)
      expect(keccak256(toHex(encodeType(definition.types, type))), type).toBe(solidity?.typehash)
    }
  })

  it("the contracts' typehash getters are the libraries' typehashes", async () => {
    const typehash = (type: string) => solidityTypes.find((t) => t.primaryType === type)?.typehash
    const read = (address: Address, abi: Abi, functionName: string) =>
      publicClient.readContract({ address, abi, functionName })
    expect(await read(at.marketplace, proofMarketplaceAbi, 'INVALID_INPUTS_TYPEHASH')).toBe(typehash('InvalidInputs'))
    expect(await read(at.middleware, cairnNetworkMiddlewareAbi, 'BINDING_TYPEHASH')).toBe(typehash('OperatorBinding'))
    expect(await read(at.mirror, stakeMirrorAbi, 'SNAPSHOT_TYPEHASH')).toBe(typehash('StakeSnapshot'))
    expect(await read(at.mirror, stakeMirrorAbi, 'SLASH_OUTCOME_TYPEHASH')).toBe(typehash('SlashOutcome'))
    expect(await read(at.mirror, stakeMirrorAbi, 'SLASH_OUTCOMES_TYPEHASH')).toBe(typehash('SlashOutcomes'))
    expect(await read(at.inbox, slashInboxAbi, 'SLASH_TYPEHASH')).toBe(typehash('Slash'))
    expect(await read(at.inbox, slashInboxAbi, 'BATCH_TYPEHASH')).toBe(typehash('SlashBatch'))
    expect(await read(at.teeVerifier, teeProofVerifierAbi, 'TEE_PROOF_TYPEHASH')).toBe(typehash('TeeProof'))
  })
})

describe("EIP-712 digests: viem's from the SDK's typed data against each contract's", () => {
  it('StakeSnapshot: StakeMirror.snapshotDigest', async () => {
    const snapshot = {
      epoch: 7n,
      captureTimestamp: 1_700_000_000,
      slashingWindow: 604_800,
      stakeRoot: word(0xabc),
      totalStake: 10n ** 21n,
      leafCount: 3,
    }
    const typedData = snapshotTypedData(snapshot, { chainId, address: at.mirror, token })
    const onChain = await publicClient.readContract({
      address: at.mirror,
      abi: stakeMirrorAbi,
      functionName: 'snapshotDigest',
      args: [snapshot],
    })
    expect(hashTypedData(typedData)).toBe(onChain)
  })

  it('SlashOutcomes: StakeMirror.slashOutcomesDigest (none, one, several)', async () => {
    const outcome = (n: number): SlashOutcome => ({
      orderId: word(n),
      vault: address(n),
      status: n % 2 === 0 ? EXECUTED : VETOED,
      slashed: n % 2 === 0 ? BigInt(n) * 10n ** 18n : 0n,
      settledAt: 1_700_000_000 + n,
    })
    for (const outcomes of [[], [outcome(2)], [outcome(1), outcome(2), outcome(3)]]) {
      const typedData = slashOutcomesTypedData(outcomes, { chainId, address: at.mirror })
      const onChain = await publicClient.readContract({
        address: at.mirror,
        abi: stakeMirrorAbi,
        functionName: 'slashOutcomesDigest',
        args: [outcomes],
      })
      expect(hashTypedData(typedData)).toBe(onChain)
    }
  })

  it('SlashBatch: SlashInbox.batchDigest (none, one, several)', async () => {
    const slash = (n: number) => ({
      taskId: (5n << 64n) | BigInt(n),
      prover: address(0x100 + n),
      vault: address(0x200 + n),
      amount: BigInt(n) * 10n ** 18n,
      captureTimestamp: 1_700_000_000 + n,
    })
    const inbox = { chainId, address: at.inbox, sourceChainId, sourceMirror: at.mirror }
    for (const slashes of [[], [slash(1)], [slash(1), slash(2), slash(3)]]) {
      const onChain = await publicClient.readContract({
        address: at.inbox,
        abi: slashInboxAbi,
        functionName: 'batchDigest',
        args: [slashes],
      })
      expect(hashTypedData(slashBatchTypedData(slashes, inbox))).toBe(onChain)
    }
  })

  it('OperatorBinding: CairnNetworkMiddleware.bindingDigest', async () => {
    const binding = { operator: address(0x0a), prover: address(0x0b), nonce: 3n, deadline: 1_800_000_000n }
    const typedData = operatorBindingTypedData({ chainId, address: at.middleware }, binding)
    const onChain = await publicClient.readContract({
      address: at.middleware,
      abi: cairnNetworkMiddlewareAbi,
      functionName: 'bindingDigest',
      args: [binding.operator, binding.prover, binding.nonce, binding.deadline],
    })
    expect(hashTypedData(typedData)).toBe(onChain)
  })

  /** The marketplace's EIP-712 domain separator, from the domain it reports (eip712Domain). */
  async function marketplaceDomainSeparator(): Promise<Hex> {
    const [, name, version, domainChainId, verifyingContract] = await publicClient.readContract({
      address: at.marketplace,
      abi: proofMarketplaceAbi,
      functionName: 'eip712Domain',
    })
    const domain = { name, version, chainId: domainChainId, verifyingContract }
    const types = { EIP712Domain: getTypesForEIP712Domain({ domain }) }
    return hashDomain({ domain, types } as Parameters<typeof hashDomain>[0])
  }

  it('TeeProof: TeeProofVerifier.digest (EIP-712 kind), for short and long public values', async () => {
    for (const publicValues of ['0x', toHex(new Uint8Array(200).fill(9))] as const) {
      const statement = {
        verifier: at.teeVerifier,
        chainId,
        marketplace: at.marketplace,
        requestId: (teeMarketId << 64n) | 5n,
        prover: address(0x70),
        inputsDigest: word(0x1d),
        programId: teeProgramId,
        publicValues,
      }
      const digest = await publicClient.readContract({
        address: at.teeVerifier,
        abi: teeProofVerifierAbi,
        functionName: 'digest',
        args: [
          TEE_DIGEST_EIP712,
          publicValues,
          { requestId: statement.requestId, prover: statement.prover, inputsDigest: statement.inputsDigest },
        ],
      })
      expect(hashTypedData(teeProofTypedData(statement))).toBe(digest)
    }
  })

  it('InvalidInputs: the struct hash rejectInputs (IInputRejections, at the marketplace) signs, under its domain', async () => {
    const statement = { requestId: (2n << 64n) | 9n, inputsDigest: word(0x1d) }
    const typedData = invalidInputsTypedData(deploymentOf(at.marketplace), statement)
    const structHash = (await publicClient.readContract({
      address: at.harness,
      abi: harnessAbi,
      functionName: 'invalidInputsHash',
      args: [statement.requestId, statement.inputsDigest],
    })) as Hex
    expect(hashStruct({ ...typedData, data: typedData.message })).toBe(structHash)
    const separator = await marketplaceDomainSeparator()
    expect(hashTypedData(typedData)).toBe(keccak256(`0x1901${separator.slice(2)}${structHash.slice(2)}`))
  })

  it("SignedRequest: the marketplace's signedRequestDigest and signedRequestId, the library's struct hash", async () => {
    const request = {
      requester: address(0x5e),
      nonce: 257n,
      marketId: 4,
      maxReward: 3n * 10n ** 18n,
      provingTime: 600,
      matchingExpiry: 1_700_003_600,
      deadline: 1_700_010_000,
      speedPreferenceBps: 2_500,
      refundAddress: address(0x0c),
      publicInputs: { data: toHex(new Uint8Array(64).fill(3)), uri: '', digest: word(0) },
      privateInputs: { data: '0x' as Hex, uri: 'ipfs://private', digest: word(0x1d) },
    }
    const typedData = signedRequestTypedData(deploymentOf(at.marketplace), request)
    const structHash = (await publicClient.readContract({
      address: at.harness,
      abi: harnessAbi,
      functionName: 'signedRequestHash',
      args: [request],
    })) as Hex
    expect(hashStruct({ ...typedData, data: typedData.message })).toBe(structHash)
    const read = (functionName: 'signedRequestDigest' | 'signedRequestId') =>
      publicClient.readContract({ address: at.marketplace, abi: iSignedRequestsAbi, functionName, args: [request] })
    const separator = await marketplaceDomainSeparator()
    expect(hashTypedData(typedData)).toBe(keccak256(`0x1901${separator.slice(2)}${structHash.slice(2)}`))
    expect(await read('signedRequestDigest')).toBe(hashTypedData(typedData))
    expect(await read('signedRequestId')).toBe(signedRequestId(deploymentOf(at.marketplace), request))
  })

  it("FastAssignment: the marketplace's fastAssignmentDigest (served by its fulfilment module), the library's struct hash", async () => {
    const assignment = {
      requestId: (4n << 64n) | (1n << 63n) | 77n,
      prover: address(0x7a),
      price: 10n ** 18n,
      validUntil: 1_700_000_900n,
    }
    const typedData = cairnTypedData('fastAssignment', { chainId, address: at.marketplace }, assignment)
    const structHash = (await publicClient.readContract({
      address: at.harness,
      abi: harnessAbi,
      functionName: 'fastAssignmentHash',
      args: [assignment],
    })) as Hex
    expect(hashStruct({ ...typedData, data: typedData.message })).toBe(structHash)
    const separator = await marketplaceDomainSeparator()
    expect(hashTypedData(typedData)).toBe(keccak256(`0x1901${separator.slice(2)}${structHash.slice(2)}`))
    const digest = await publicClient.readContract({
      address: at.marketplace,
      abi: iSignedFulfilmentsAbi,
      functionName: 'fastAssignmentDigest',
      args: [assignment],
    })
    expect(digest).toBe(hashTypedData(typedData))
  })

  it('AssignmentBatch: the signer ProofMarketplace.assign recovers, with and without input keys', async () => {
    const validUntil = BigInt(Math.floor(Date.now() / 1000) + 3600)
    const request = {
      refundAddress: address(0x0c),
      maxReward: 10n ** 18n,
      createdAt: 1_700_000_000,
      matchingExpiry: 1_700_003_600,
      provingTime: 600,
      inputsDigest: word(0x1d),
    }
    const signed = (n: number, inputKey?: Hex) => ({
      requestId: (1n << 64n) | BigInt(n),
      prover: address(0x100 + n),
      price: BigInt(n) * 10n ** 15n,
      provingTime: 300 + n,
      ...(inputKey === undefined ? {} : { inputKey }),
    })
    const batches = [
      [signed(1)],
      [signed(1), signed(2), signed(3)],
      [signed(1, '0xc1c1'), signed(2, '0x'), signed(3, toHex(new Uint8Array(97).fill(7)))],
    ]
    for (const assignments of batches) {
      const typedData = assignmentTypedData(deploymentOf(at.marketplace), { assignments, validUntil })
      const matcher = privateKeyToAccount(generatePrivateKey())
      const signature = await matcher.signTypedData(typedData)
      const matches = assignments.map(({ requestId, prover, price, provingTime }) => ({
        requestId,
        prover,
        price,
        provingTime,
        request,
      }))
      const withKeys = assignments.some((a) => 'inputKey' in a)
      const inputKeys = withKeys ? assignments.map((a) => a.inputKey ?? '0x') : []
      // The library's struct hashes: of the signed assignments, and of the batch as assign takes it.
      const structHash = hashStruct({ ...typedData, data: typedData.message })
      const [ofAssignments, ofMatches] = await Promise.all([
        publicClient.readContract({
          address: at.harness,
          abi: harnessAbi,
          functionName: 'assignmentBatchHash',
          args: [typedData.message.assignments, validUntil],
        }),
        publicClient.readContract({
          address: at.harness,
          abi: harnessAbi,
          functionName: 'matchedBatchHash',
          args: [matches, inputKeys, validUntil],
        }),
      ])
      expect(ofAssignments).toBe(structHash)
      expect(ofMatches).toBe(structHash)
      // The marketplace recovers the signer from its own digest and names it: a stranger, so NotMatcher(signer).
      const refusal = await publicClient
        .simulateContract({
          address: at.marketplace,
          abi: proofMarketplaceAbi,
          functionName: 'assign',
          args: [matches, inputKeys, validUntil, signature],
          account: deployer,
        })
        .then(
          () => undefined,
          (error: unknown) =>
            error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : error,
        )
      expect(refusal).toBeInstanceOf(ContractFunctionRevertedError)
      expect((refusal as ContractFunctionRevertedError).data).toMatchObject({
        errorName: 'NotMatcher',
        args: [matcher.address],
      })
    }
  })
})
