import { symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import {
  type Address,
  bytesToHex,
  type Hex,
  hexToBytes,
  isAddressEqual,
  keccak256,
  toHex,
  zeroAddress,
  zeroHash,
} from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MatcherRequest } from '../enclave/matcher/chain.js'
import {
  checkEnvelope,
  createMatcherInputsStore,
  loadsInputs,
  type MatcherInputsStore,
  requestContext,
  rewrapToProverEnclave,
} from '../enclave/matcher/inputs.js'
import {
  decryptWithInputKey,
  eciesPublicKeyOf,
  encryptPrivateInputs,
  type PrivateInputsContext,
  unwrapDataKey,
} from '../ts/privacy.js'
import type { RegistryReader } from '../ts/tee.js'
import { combinedInputsDigest, type Inputs, inlineInputs, remoteInputs } from '../ts/types.js'
import { useHostileFiles } from './hostile-files.js'
import { type LocalServer, serveLocally } from './local-server.js'

// The matcher's re-wrap, without a chain: a registry double answering proverEnclave and enclaveOperator and recording
// every read, so the test sees which key the data key goes to and where that key came from.

const key = (label: string): Hex => keccak256(toHex(`cairn matcher inputs ${label}`))
const address = (n: number): Address => `0x${n.toString(16).padStart(40, '0')}`

const registry = address(0xee)
const prover = address(0x1001)
const enclaveSigner = address(0x2002)
const matcherKey = key('matcher')
const proverEciesKey = key('prover enclave ecies')
const otherEciesKey = key('someone else')
const publicInputs = toHex('public inputs')
const context: PrivateInputsContext = {
  chainId: 31337,
  marketplace: address(0xaa),
  marketId: 3n,
  requester: address(0x7e7e),
  publicInputsDigest: keccak256(publicInputs),
}
const plaintext = new TextEncoder().encode('{"preimage":"42"}')
const envelope = hexToBytes(
  encryptPrivateInputs({ plaintext, context, recipients: [eciesPublicKeyOf(matcherKey)] }).envelope,
)

type InputsState = NonNullable<ReturnType<MatcherInputsStore['get']>>

type Read = { functionName: string; args: readonly unknown[]; blockNumber: bigint | undefined; address: Address }

/** A registry whose prover key for (market 3, prover) is `enclave`, held by `operatorOfKey` at the block read. */
function registryDouble(params: { enclave: { signer: Address; eciesPublicKey: Hex }; operatorOfKey: Address }) {
  const reads: Read[] = []
  const reader = {
    public: {
      readContract: async (call: Read) => {
        reads.push({
          functionName: call.functionName,
          args: call.args,
          blockNumber: call.blockNumber,
          address: call.address,
        })
        if (call.functionName === 'proverEnclave') {
          const [marketId, operator] = call.args as [bigint, Address]
          return marketId === context.marketId && isAddressEqual(operator, prover)
            ? [params.enclave.signer, params.enclave.eciesPublicKey]
            : [zeroAddress, '0x']
        }
        if (call.functionName === 'enclaveOperator') {
          const [, signer] = call.args as [bigint, Address]
          return isAddressEqual(signer, params.enclave.signer) ? params.operatorOfKey : zeroAddress
        }
        throw new Error(`unexpected read ${call.functionName}`)
      },
    },
    attestation: { contracts: { teeRegistry: registry } },
  } as unknown as RegistryReader
  return { reader, reads }
}

const rewrap = (reader: RegistryReader, blockNumber = 77n) =>
  rewrapToProverEnclave(reader, {
    envelope,
    matcherPrivateKey: matcherKey,
    marketId: context.marketId,
    prover,
    context,
    blockNumber,
  })

describe('matcher re-wrap to the prover enclave', () => {
  it('wraps to the key it read from the registry, once the key is checked active for that prover at the same block', async () => {
    const enclave = { signer: enclaveSigner, eciesPublicKey: eciesPublicKeyOf(proverEciesKey) }
    const { reader, reads } = registryDouble({ enclave, operatorOfKey: prover })
    const rewrapped = await rewrap(reader)
    expect(rewrapped?.enclave).toEqual(enclave)
    // Only the prover enclave's key opens it, and it opens the requester's inputs.
    const inputKey = rewrapped?.inputKey as Hex
    expect(decryptWithInputKey({ envelope, inputKey, privateKey: proverEciesKey, context })).toEqual(plaintext)
    expect(() => unwrapDataKey(inputKey, otherEciesKey)).toThrow()
    // Both reads at the decision block, on the registry, for this market and prover.
    expect(reads).toEqual([
      { functionName: 'proverEnclave', args: [context.marketId, prover], blockNumber: 77n, address: registry },
      { functionName: 'enclaveOperator', args: [context.marketId, enclaveSigner], blockNumber: 77n, address: registry },
    ])
  })

  it('wraps to nobody when the key does not belong to the prover (or to nobody) at that block', async () => {
    const enclave = { signer: enclaveSigner, eciesPublicKey: eciesPublicKeyOf(otherEciesKey) }
    for (const operatorOfKey of [address(0x3003), zeroAddress]) {
      const { reader } = registryDouble({ enclave, operatorOfKey })
      expect(await rewrap(reader)).toBeUndefined()
    }
  })

  it('wraps to nobody when the prover has no active enclave key in the market', async () => {
    const { reader, reads } = registryDouble({
      enclave: { signer: zeroAddress, eciesPublicKey: '0x' },
      operatorOfKey: prover,
    })
    expect(await rewrap(reader)).toBeUndefined()
    expect(reads.map((r) => r.functionName)).toEqual(['proverEnclave'])
  })
})

describe('matcher check of an envelope copied into another request', () => {
  const enclave = { signer: enclaveSigner, eciesPublicKey: eciesPublicKeyOf(proverEciesKey) }
  const chain = { chainId: 31337, marketplace: context.marketplace }
  /** A request as the marketplace logs it, with both parts inline: its inputsDigest commits to both. */
  const requestOf = (fields: { requestId: bigint; requester: Address; publicInputs: Hex }) =>
    ({
      ...fields,
      marketId: context.marketId,
      hasPrivateInputs: true,
      record: { inputsDigest: combinedInputsDigest(keccak256(fields.publicInputs), keccak256(envelope)) },
      publicInputs: inlineInputs(fields.publicInputs),
      publicInputsDigest: keccak256(fields.publicInputs),
      privateInputs: inlineInputs(bytesToHex(envelope)),
    }) as unknown as MatcherRequest
  const victim = requestOf({ requestId: 1n, requester: context.requester, publicInputs })
  const copies: [string, MatcherRequest][] = [
    ['posted by another requester', requestOf({ requestId: 2n, requester: address(0xbad), publicInputs })],
    [
      'under other public inputs',
      requestOf({ requestId: 3n, requester: context.requester, publicInputs: toHex('the attacker’s') }),
    ],
  ]

  /** What the matcher's store makes of each request: ready, or rejected with a reason. */
  function load(requests: MatcherRequest[]) {
    const rejected = new Map<bigint, string>()
    const store = createMatcherInputsStore({
      matcherPrivateKey: matcherKey,
      context: (request) => requestContext(chain, request),
      fetchTimeout: 1_000,
      maxBytes: 1 << 16,
      allowFileUris: false,
      onRejected: (request, error) => rejected.set(request.requestId, error.reason),
      onRetry: () => undefined,
    })
    for (const request of requests) store.load(request)
    return { store, rejected }
  }

  it('opens the envelope for the request it was encrypted for, rebuilding the context from that request', () => {
    expect(requestContext(chain, victim)).toEqual(context)
    const { store, rejected } = load([victim])
    expect(store.get(1n)).toEqual({ state: 'ready', value: envelope })
    expect(rejected.size).toBe(0)
  })

  for (const [how, copy] of copies) {
    it(`refuses it and re-wraps nothing when it is ${how}`, async () => {
      const { store, rejected } = load([copy])
      expect(store.get(copy.requestId)).toMatchObject({ state: 'failed', reason: 'DecryptionFailed' })
      expect(rejected.get(copy.requestId)).toBe('DecryptionFailed')
      // Even handed the envelope directly, the re-wrap refuses under the copy's context.
      const { reader } = registryDouble({ enclave, operatorOfKey: prover })
      await expect(
        rewrapToProverEnclave(reader, {
          envelope,
          matcherPrivateKey: matcherKey,
          marketId: context.marketId,
          prover,
          context: requestContext(chain, copy),
          blockNumber: 77n,
        }),
      ).rejects.toMatchObject({ code: 'DecryptionFailed' })
    })
  }

  it('refuses an envelope or public inputs served otherwise than the request commits to', () => {
    const forged = { ...victim, requestId: 4n, record: { ...victim.record, inputsDigest: key('another request') } }
    const { rejected } = load([forged])
    expect(rejected.get(4n)).toBe('InputsDigestMismatch')
    expect(() => checkEnvelope(envelope, matcherKey, context, forged.record.inputsDigest)).toThrow(
      expect.objectContaining({ reason: 'InputsDigestMismatch' }),
    )
  })
})

/** An open request in market 3 as the matcher logs it, with the given inputs; the rest is what any request has. */
function loadableRequest(
  inputs: Pick<
    MatcherRequest,
    'requestId' | 'hasPrivateInputs' | 'publicInputs' | 'publicInputsDigest' | 'privateInputs'
  > & {
    inputsDigest: Hex
  },
): MatcherRequest {
  const { inputsDigest, ...fields } = inputs
  return {
    ...fields,
    marketId: context.marketId,
    maxReward: 1n,
    provingTime: 600,
    createdAt: 0,
    matchingExpiry: 600,
    deadline: 1_200,
    speedPreferenceBps: 0,
    createdBlockHash: zeroHash,
    requester: context.requester,
    record: {
      refundAddress: zeroAddress,
      maxReward: 1n,
      createdAt: 0,
      matchingExpiry: 600,
      provingTime: 600,
      inputsDigest,
    },
    createdBlock: 1n,
  }
}

// The matcher's envelope loader on inputs behind a URI: every read bounded, and a read that can never succeed
// (a device, a FIFO, too many bytes, file: URIs not enabled) rejects the request once, without retrying.

describe('matcher envelope loader on hostile inputs URIs', () => {
  const hostileFiles = useHostileFiles('cairn-matcher-inputs-')

  let nextId = 1n
  const requestWith = (privateInputs: Inputs): MatcherRequest =>
    loadableRequest({
      requestId: nextId++,
      hasPrivateInputs: true,
      publicInputs: inlineInputs(publicInputs),
      publicInputsDigest: context.publicInputsDigest,
      inputsDigest: combinedInputsDigest(context.publicInputsDigest, keccak256(envelope)),
      privateInputs,
    })

  /** Loads one envelope; resolves to its settled state and the fetch errors it retried on. */
  async function load(uri: string, options: { allowFileUris?: boolean; maxBytes?: number } = {}) {
    const retried: unknown[] = []
    const request = requestWith(remoteInputs(uri, keccak256(envelope)))
    const store = createMatcherInputsStore({
      matcherPrivateKey: matcherKey,
      context: () => context,
      fetchTimeout: 2_000,
      maxBytes: options.maxBytes ?? 1 << 16,
      allowFileUris: options.allowFileUris ?? true,
      onRejected: () => {},
      onRetry: (_, error) => void retried.push(error),
    })
    store.load(request)
    try {
      await expect
        .poll(() => (retried.length > 0 ? 'retried' : store.get(request.requestId)?.state), { timeout: 5_000 })
        .not.toBe('loading')
      return { state: store.get(request.requestId) as InputsState, retried }
    } finally {
      store.forget(request.requestId)
    }
  }

  it('rejects file:///dev/zero, a FIFO, a link to a device and a directory at once, without a retry', async () => {
    const { directory, fifo } = hostileFiles()
    const link = join(directory, 'zero.bin')
    await symlink('/dev/zero', link)
    for (const path of ['/dev/zero', fifo, link, directory]) {
      const uri = pathToFileURL(path).href
      const { state, retried } = await load(uri)
      expect(retried).toEqual([])
      expect(state).toMatchObject({ state: 'failed', reason: 'NotARegularFile' })
      expect(state.state === 'failed' && state.message).toContain(uri)
    }
  })

  it('rejects a file over the size limit, and any file: URI unless enabled', async () => {
    const { directory } = hostileFiles()
    const path = join(directory, 'envelope.bin')
    await writeFile(path, envelope)
    const tooLarge = await load(pathToFileURL(path).href, { maxBytes: envelope.length - 1 })
    expect(tooLarge.state).toMatchObject({ state: 'failed', reason: 'TooLarge' })
    expect(tooLarge.state.state === 'failed' && tooLarge.state.message).toContain(`${envelope.length - 1}-byte limit`)
    const disabled = await load(pathToFileURL(path).href, { allowFileUris: false })
    expect(disabled.state).toMatchObject({ state: 'failed', reason: 'FileUrisDisabled' })
    expect(disabled.state.state === 'failed' && disabled.state.message).toMatch(/--allow-file-uris/)
    expect([tooLarge.retried, disabled.retried]).toEqual([[], []])
  })

  it('loads an envelope from a regular file within the limit', async () => {
    const { directory } = hostileFiles()
    const path = join(directory, 'fine.bin')
    await writeFile(path, envelope)
    const { state } = await load(pathToFileURL(path).href, { maxBytes: envelope.length })
    expect(state).toEqual({ state: 'ready', value: envelope })
  })
})

// Public inputs behind a URI: loaded and checked like an envelope before the request may be matched, so a request
// whose public inputs can never load is never assigned (its prover would be slashed for it).

describe('matcher loader of public inputs behind a URI', () => {
  const bytes = hexToBytes(publicInputs)
  const digest = keccak256(bytes)
  const maxBytes = 1 << 16
  let server: LocalServer
  let base: string
  let healthy = false

  beforeAll(async () => {
    server = await serveLocally((request, response) => {
      if (request.url === '/inputs') return void response.end(bytes)
      if (request.url === '/other') return void response.end('other bytes')
      if (request.url === '/flaky') return void (healthy ? response.end(bytes) : response.writeHead(503).end())
      if (request.url !== '/oversized') return void response.writeHead(404).end()
      // One byte over the limit in chunks, no content-length: only the bounded read stops it.
      response.write(new Uint8Array(maxBytes))
      response.end(new Uint8Array(1))
    })
    base = server.base
  })

  afterAll(() => server.close())

  let nextId = 100n
  /** A public-inputs-only request as the marketplace logs it: its inputsDigest commits to `publicInputs`' digest. */
  const publicRequest = (inputs: Inputs, inputsDigest = combinedInputsDigest(digest, zeroHash)): MatcherRequest =>
    loadableRequest({
      requestId: nextId++,
      hasPrivateInputs: false,
      publicInputs: inputs,
      publicInputsDigest: digest,
      inputsDigest,
      privateInputs: { data: '0x', uri: '', digest: zeroHash },
    })

  /** Loads a request's inputs until `until` says done; its state, and the read errors it retried on. */
  async function load(request: MatcherRequest, until: (state: InputsState | undefined, retries: number) => boolean) {
    const retried: unknown[] = []
    const rejected: string[] = []
    const store = createMatcherInputsStore({
      matcherPrivateKey: matcherKey,
      context: () => context,
      fetchTimeout: 2_000,
      maxBytes,
      allowFileUris: false,
      onRejected: (_, error) => void rejected.push(error.reason),
      onRetry: (_, error) => void retried.push(error),
    })
    expect(loadsInputs(request)).toBe(true)
    store.load(request)
    try {
      await expect.poll(() => until(store.get(request.requestId), retried.length), { timeout: 5_000 }).toBe(true)
      return { state: store.get(request.requestId) as InputsState, retried, rejected }
    } finally {
      store.forget(request.requestId)
    }
  }
  const settled = (state: InputsState | undefined, retries: number) => retries > 0 || state?.state !== 'loading'

  it('needs no load for inline public inputs, and loads committed bytes behind a URI', async () => {
    expect(loadsInputs(publicRequest(inlineInputs(publicInputs)))).toBe(false)
    const dataUri = `data:application/octet-stream;base64,${Buffer.from(bytes).toString('base64')}`
    for (const uri of [dataUri, `${base}/inputs`]) {
      const { state, retried } = await load(publicRequest(remoteInputs(uri, digest)), settled)
      expect(state).toEqual({ state: 'ready', value: undefined })
      expect(retried).toEqual([])
    }
  })

  it('rejects for good, without a retry, a scheme no service reads, other bytes than committed, too many bytes', async () => {
    const otherBytes = `data:application/octet-stream;base64,${Buffer.from('other bytes').toString('base64')}`
    const cases = [
      ['ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi', 'UnsupportedUri'],
      [otherBytes, 'DigestMismatch'],
      [`${base}/other`, 'DigestMismatch'],
      [`${base}/oversized`, 'TooLarge'],
      [pathToFileURL(join(tmpdir(), 'public-inputs.bin')).href, 'FileUrisDisabled'],
    ] as const
    for (const [uri, reason] of cases) {
      const { state, retried, rejected } = await load(publicRequest(remoteInputs(uri, digest)), settled)
      expect(state).toMatchObject({ state: 'failed', reason })
      expect(state.state === 'failed' && state.message).toMatch(/^public inputs: /)
      expect(retried).toEqual([])
      expect(rejected).toEqual([reason])
    }
  })

  it('retries public inputs whose server is down, and accepts them once it serves the committed bytes', async () => {
    healthy = false
    const request = publicRequest(remoteInputs(`${base}/flaky`, digest))
    const { state, retried } = await load(request, (current, retries) => {
      if (retries > 0) healthy = true
      return current?.state !== 'loading'
    })
    expect(state).toEqual({ state: 'ready', value: undefined })
    expect(retried).toHaveLength(1)
    expect(retried[0]).toMatchObject({ name: 'InputsUnavailableError', reason: 'Unavailable', permanent: false })
  })

  it('rejects public inputs served otherwise than the request commits to (a forged log)', async () => {
    const forged = publicRequest(remoteInputs(`${base}/inputs`, digest), key('another request'))
    const { state, retried } = await load(forged, settled)
    expect(state).toMatchObject({ state: 'failed', reason: 'InputsDigestMismatch' })
    expect(retried).toEqual([])
  })
})
