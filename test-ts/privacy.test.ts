import { secp256k1 } from '@noble/curves/secp256k1'
import {
  bytesToHex,
  concat,
  type Hex,
  hexToBytes,
  keccak256,
  numberToBytes,
  size,
  slice,
  stringToBytes,
  toHex,
} from 'viem'
import { describe, expect, it } from 'vitest'
import {
  decryptPrivateInputs,
  decryptWithInputKey,
  eciesPublicKeyOf,
  encryptPrivateInputs,
  findWrap,
  KEY_WRAP_LENGTH,
  keyCommitmentOf,
  openPrivateInputs,
  type PrivateInputsContext,
  type PrivateInputsErrorCode,
  parseEnvelope,
  recipientIdOf,
  rewrapForProver,
  unwrapDataKey,
  wrapDataKey,
} from '../ts/index.js'
import { twoKeyCiphertext } from './two-key-ciphertext.js'

/** Fixed keys so a failure reproduces; enclaves generate theirs inside the TD. */
const keyOf = (label: string): Hex => keccak256(stringToBytes(`cairn privacy test ${label}`))
const matcher1 = keyOf('matcher 1')
const matcher2 = keyOf('matcher 2')
const prover = keyOf('prover')
const outsider = keyOf('outsider')

const context: PrivateInputsContext = {
  chainId: 31337,
  marketplace: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  marketId: 7n,
  requester: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  publicInputsDigest: keccak256(stringToBytes('public inputs of the request')),
}
const plaintext = stringToBytes('{"preimage":"42"}')

function encrypt(recipients: Hex[] = [eciesPublicKeyOf(matcher1)]) {
  return encryptPrivateInputs({ plaintext, context, recipients })
}

/** Runs `run` and returns the PrivateInputsError code it throws; fails on success or on any other error. */
function codeOf(run: () => unknown): PrivateInputsErrorCode {
  try {
    run()
  } catch (error) {
    expect(error).toMatchObject({ name: 'PrivateInputsError' })
    return (error as { code: PrivateInputsErrorCode }).code
  }
  throw new Error('expected a PrivateInputsError, nothing was thrown')
}

/** The envelope with one byte XORed at `offset` (negative: from the end). */
function flipByte(envelope: Hex, offset: number): Hex {
  const bytes = hexToBytes(envelope)
  const at = offset < 0 ? bytes.length + offset : offset
  bytes[at] = (bytes[at] ?? 0) ^ 0x01
  return bytesToHex(bytes)
}

describe('private inputs envelope', () => {
  it('round-trips for a recipient, and the digest is keccak256 of the envelope', () => {
    const { envelope, digest, dataKey } = encrypt()
    expect(digest).toBe(keccak256(envelope))
    expect(size(dataKey)).toBe(32)
    expect(openPrivateInputs({ envelope, privateKey: matcher1, context })).toEqual(plaintext)
    expect(decryptPrivateInputs(envelope, dataKey, context)).toEqual(plaintext)
  })

  it('lays out version, key commitment, nonce, length, ciphertext, count and wraps as documented', () => {
    const { envelope, dataKey } = encrypt([eciesPublicKeyOf(matcher1), eciesPublicKeyOf(matcher2)])
    const parsed = parseEnvelope(envelope)
    expect(parsed.version).toBe(2)
    expect(parsed.keyCommitment).toBe(
      keccak256(concat([stringToBytes('cairn-private-inputs-key-v2'), hexToBytes(dataKey)])),
    )
    expect(slice(envelope, 1, 33)).toBe(parsed.keyCommitment)
    expect(parsed.ciphertext.length).toBe(plaintext.length + 16)
    expect(size(envelope)).toBe(1 + 32 + 12 + 4 + plaintext.length + 16 + 1 + 2 * (32 + KEY_WRAP_LENGTH))
    expect(parsed.wraps.map((w) => w.recipient)).toEqual([
      keccak256(eciesPublicKeyOf(matcher1)),
      keccak256(eciesPublicKeyOf(matcher2)),
    ])
    expect(KEY_WRAP_LENGTH).toBe(93)
  })

  it('opens for every listed recipient, and each finds its own wrap', () => {
    const { envelope, dataKey } = encrypt([eciesPublicKeyOf(matcher1), eciesPublicKeyOf(matcher2)])
    for (const key of [matcher1, matcher2]) {
      const wrap = findWrap(envelope, eciesPublicKeyOf(key))
      expect(wrap).toBeDefined()
      expect(unwrapDataKey(wrap as Hex, key)).toBe(dataKey)
      expect(openPrivateInputs({ envelope, privateKey: key, context })).toEqual(plaintext)
    }
  })

  it('uses fresh randomness: the same plaintext encrypts differently each time', () => {
    expect(encrypt().envelope).not.toBe(encrypt().envelope)
  })

  it('does not decrypt under another chain, marketplace or market', () => {
    const { envelope, dataKey } = encrypt()
    const others: PrivateInputsContext[] = [
      { ...context, chainId: 1 },
      { ...context, marketplace: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512' },
      { ...context, marketId: 8n },
    ]
    for (const other of others) {
      expect(codeOf(() => decryptPrivateInputs(envelope, dataKey, other))).toBe('DecryptionFailed')
      expect(codeOf(() => openPrivateInputs({ envelope, privateKey: matcher1, context: other }))).toBe(
        'DecryptionFailed',
      )
    }
  })

  it('does not open an envelope copied into another request: another requester or other public inputs', () => {
    const { envelope, dataKey } = encrypt()
    const attacker = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
    const copies: PrivateInputsContext[] = [
      { ...context, requester: attacker },
      { ...context, publicInputsDigest: keccak256(stringToBytes('the attacker’s own context')) },
    ]
    for (const copy of copies) {
      expect(codeOf(() => decryptPrivateInputs(envelope, dataKey, copy))).toBe('DecryptionFailed')
      // The matcher refuses to re-wrap it, so no prover ever gets the data key for the copy.
      expect(
        codeOf(() =>
          rewrapForProver({
            envelope,
            matcherPrivateKey: matcher1,
            proverPublicKey: eciesPublicKeyOf(prover),
            context: copy,
          }),
        ),
      ).toBe('DecryptionFailed')
    }
  })

  it('refuses, at every recipient but the committed one, an envelope whose ciphertext opens under two data keys', () => {
    const keys = [keyOf('data key 1'), keyOf('data key 2')] as const
    const nonce = hexToBytes(keyOf('nonce')).subarray(0, 12)
    // The AAD as the header documents it.
    const aad = concat([
      stringToBytes('cairn-private-inputs-v2'),
      new Uint8Array([2]),
      numberToBytes(context.chainId, { size: 32 }),
      hexToBytes(context.marketplace),
      numberToBytes(context.marketId, { size: 32 }),
      hexToBytes(context.requester),
      hexToBytes(context.publicInputsDigest),
    ])
    const sealed = twoKeyCiphertext({ keys: [hexToBytes(keys[0]), hexToBytes(keys[1])], nonce, aad, blocks: 2 })
    const wraps = [matcher1, matcher2].map((matcher, i) =>
      concat([recipientIdOf(eciesPublicKeyOf(matcher)), wrapDataKey(keys[i] as Hex, eciesPublicKeyOf(matcher))]),
    )
    const envelope = concat([
      new Uint8Array([2]),
      hexToBytes(keyCommitmentOf(keys[0])),
      nonce,
      numberToBytes(sealed.length, { size: 4 }),
      sealed,
      new Uint8Array([2]),
      ...wraps.map((wrap) => hexToBytes(wrap)),
    ])
    // Without the commitment each matcher would see other private inputs, and re-wrap its own to the prover.
    const opened = [matcher1, matcher2].map((privateKey) => {
      try {
        return { plaintext: bytesToHex(openPrivateInputs({ envelope, privateKey, context })) }
      } catch (error) {
        return { code: (error as { code: PrivateInputsErrorCode }).code }
      }
    })
    expect(opened[0]).toHaveProperty('plaintext')
    expect(opened[1]).toEqual({ code: 'KeyCommitmentMismatch' })
    expect(
      codeOf(() =>
        rewrapForProver({ envelope, matcherPrivateKey: matcher2, proverPublicKey: eciesPublicKeyOf(prover), context }),
      ),
    ).toBe('KeyCommitmentMismatch')
    // A prover handed the other key (by a matcher that skipped the check) refuses it as well.
    const inputKey = wrapDataKey(keys[1], eciesPublicKeyOf(prover))
    expect(codeOf(() => decryptWithInputKey({ envelope, inputKey, privateKey: prover, context }))).toBe(
      'KeyCommitmentMismatch',
    )
  })

  it('refuses a wrap that carries another data key than the envelope commits to', () => {
    const { envelope, dataKey } = encrypt([eciesPublicKeyOf(matcher1), eciesPublicKeyOf(matcher2)])
    const other = keyOf('another data key')
    const parsed = parseEnvelope(envelope)
    const swapped = hexToBytes(envelope)
    swapped.set(hexToBytes(wrapDataKey(other, eciesPublicKeyOf(matcher2))), size(envelope) - KEY_WRAP_LENGTH)
    expect(parseEnvelope(swapped).wraps[0]).toEqual(parsed.wraps[0])
    expect(openPrivateInputs({ envelope: swapped, privateKey: matcher1, context })).toEqual(plaintext)
    expect(codeOf(() => openPrivateInputs({ envelope: swapped, privateKey: matcher2, context }))).toBe(
      'KeyCommitmentMismatch',
    )
    expect(codeOf(() => decryptPrivateInputs(envelope, other, context))).toBe('KeyCommitmentMismatch')
    expect(keyCommitmentOf(dataKey)).toBe(parsed.keyCommitment)
  })

  it('rejects a tampered ciphertext, tag, nonce, key commitment or version', () => {
    const { envelope, dataKey } = encrypt()
    const ciphertextAt = 1 + 32 + 12 + 4
    const tagAt = ciphertextAt + plaintext.length
    expect(codeOf(() => decryptPrivateInputs(flipByte(envelope, ciphertextAt), dataKey, context))).toBe(
      'DecryptionFailed',
    )
    expect(codeOf(() => decryptPrivateInputs(flipByte(envelope, tagAt + 15), dataKey, context))).toBe(
      'DecryptionFailed',
    )
    expect(codeOf(() => decryptPrivateInputs(flipByte(envelope, 1 + 32 + 5), dataKey, context))).toBe(
      'DecryptionFailed',
    )
    expect(codeOf(() => decryptPrivateInputs(flipByte(envelope, 5), dataKey, context))).toBe('KeyCommitmentMismatch')
    expect(codeOf(() => decryptPrivateInputs(flipByte(envelope, 0), dataKey, context))).toBe('UnsupportedVersion')
    // Version 1 envelopes (no key commitment, no request binding) are not read any more.
    expect(codeOf(() => parseEnvelope(concat(['0x01', slice(envelope, 1)])))).toBe('UnsupportedVersion')
  })

  it('rejects a tampered key wrap, and a wrap whose recipient id was changed is not found', () => {
    const { envelope } = encrypt()
    // The wrap's sealed data key and tag are the envelope's last 48 bytes.
    expect(codeOf(() => openPrivateInputs({ envelope: flipByte(envelope, -1), privateKey: matcher1, context }))).toBe(
      'UnwrapFailed',
    )
    expect(codeOf(() => openPrivateInputs({ envelope: flipByte(envelope, -40), privateKey: matcher1, context }))).toBe(
      'UnwrapFailed',
    )
    // The wrap's nonce.
    expect(codeOf(() => openPrivateInputs({ envelope: flipByte(envelope, -50), privateKey: matcher1, context }))).toBe(
      'UnwrapFailed',
    )
    const recipientAt = -(KEY_WRAP_LENGTH + 1)
    expect(
      codeOf(() => openPrivateInputs({ envelope: flipByte(envelope, recipientAt), privateKey: matcher1, context })),
    ).toBe('NoWrapForRecipient')
  })

  it('rejects a wrap whose ephemeral key is not a curve point', () => {
    const wrap = hexToBytes(wrapDataKey(keyOf('data key'), eciesPublicKeyOf(prover)))
    wrap[0] = 0x05 // no compressed-point prefix is 0x05
    expect(codeOf(() => unwrapDataKey(bytesToHex(wrap), prover))).toBe('MalformedWrap')
    expect(codeOf(() => unwrapDataKey(slice(bytesToHex(wrap), 0, 92), prover))).toBe('MalformedWrap')
    // A compressed prefix over an x with no point on the curve (x³ + 7 not a square): OpenSSL's ECDH refuses it too.
    let x = 1n
    while (isCurveX(x)) x++
    wrap.set([0x02, ...hexToBytes(toHex(x, { size: 32 }))], 0)
    expect(codeOf(() => unwrapDataKey(bytesToHex(wrap), prover))).toBe('MalformedWrap')
  })

  it('gives a non-recipient nothing: no wrap, and a stolen wrap does not open', () => {
    const { envelope } = encrypt([eciesPublicKeyOf(matcher1)])
    expect(findWrap(envelope, eciesPublicKeyOf(outsider))).toBeUndefined()
    expect(codeOf(() => openPrivateInputs({ envelope, privateKey: outsider, context }))).toBe('NoWrapForRecipient')
    const stolen = findWrap(envelope, eciesPublicKeyOf(matcher1)) as Hex
    expect(codeOf(() => unwrapDataKey(stolen, outsider))).toBe('UnwrapFailed')
  })

  it('lets a matcher re-wrap to a prover, and only that prover decrypts with the input key', () => {
    const { envelope, dataKey } = encrypt([eciesPublicKeyOf(matcher1), eciesPublicKeyOf(matcher2)])
    const inputKey = rewrapForProver({
      envelope,
      matcherPrivateKey: matcher2,
      proverPublicKey: eciesPublicKeyOf(prover),
      context,
    })
    expect(size(inputKey)).toBe(KEY_WRAP_LENGTH)
    expect(unwrapDataKey(inputKey, prover)).toBe(dataKey)
    expect(decryptWithInputKey({ envelope, inputKey, privateKey: prover, context })).toEqual(plaintext)
    for (const other of [outsider, matcher1, matcher2]) {
      expect(codeOf(() => decryptWithInputKey({ envelope, inputKey, privateKey: other, context }))).toBe('UnwrapFailed')
    }
    // The prover has no wrap in the envelope itself: the input key is its only way in.
    expect(codeOf(() => openPrivateInputs({ envelope, privateKey: prover, context }))).toBe('NoWrapForRecipient')
  })

  it('refuses to re-wrap inputs that do not decrypt under the request context', () => {
    const { envelope } = encrypt()
    const proverPublicKey = eciesPublicKeyOf(prover)
    const wrongMarket = { ...context, marketId: 9n }
    expect(
      codeOf(() => rewrapForProver({ envelope, matcherPrivateKey: matcher1, proverPublicKey, context: wrongMarket })),
    ).toBe('DecryptionFailed')
    const tampered = flipByte(envelope, 1 + 32 + 12 + 4)
    expect(
      codeOf(() => rewrapForProver({ envelope: tampered, matcherPrivateKey: matcher1, proverPublicKey, context })),
    ).toBe('DecryptionFailed')
  })

  it('reports malformed and truncated envelopes as MalformedEnvelope, never a raw exception', () => {
    const { envelope, dataKey } = encrypt()
    const full = size(envelope)
    const cases: Hex[] = [
      '0x',
      '0x02',
      slice(envelope, 0, 48),
      slice(envelope, 0, 49),
      slice(envelope, 0, full - 1),
      slice(envelope, 0, full - KEY_WRAP_LENGTH - 32),
      `${envelope}00`,
      '0x0g' as Hex,
      '0x123' as Hex,
    ]
    for (const bad of cases) {
      expect(
        codeOf(() => decryptPrivateInputs(bad, dataKey, context)),
        bad.slice(0, 40),
      ).toBe('MalformedEnvelope')
      expect(
        codeOf(() => findWrap(bad, eciesPublicKeyOf(matcher1))),
        bad.slice(0, 40),
      ).toBe('MalformedEnvelope')
    }
    // A length field claiming more ciphertext than there is.
    const bytes = hexToBytes(envelope)
    bytes.set([0xff, 0xff, 0xff, 0xff], 1 + 32 + 12)
    expect(codeOf(() => parseEnvelope(bytes))).toBe('MalformedEnvelope')
    // Zero wraps.
    const noWraps = slice(envelope, 0, full - KEY_WRAP_LENGTH - 32)
    const zeroCount = hexToBytes(noWraps)
    zeroCount[zeroCount.length - 1] = 0
    expect(codeOf(() => parseEnvelope(zeroCount))).toBe('MalformedEnvelope')
  })

  it('validates keys and recipients', () => {
    const publicKey = eciesPublicKeyOf(matcher1)
    expect(size(publicKey)).toBe(64)
    expect(recipientIdOf(publicKey)).toBe(keccak256(publicKey))
    expect(codeOf(() => encryptPrivateInputs({ plaintext, context, recipients: [] }))).toBe('InvalidRecipients')
    expect(codeOf(() => encryptPrivateInputs({ plaintext, context, recipients: [publicKey, publicKey] }))).toBe(
      'InvalidRecipients',
    )
    expect(codeOf(() => encrypt([`0x04${publicKey.slice(2)}`]))).toBe('InvalidPublicKey')
    expect(codeOf(() => encrypt([`0x${'00'.repeat(64)}`]))).toBe('InvalidPublicKey')
    expect(codeOf(() => wrapDataKey(keyOf('k'), `0x${'11'.repeat(64)}`))).toBe('InvalidPublicKey')
    expect(codeOf(() => wrapDataKey('0x1234', publicKey))).toBe('InvalidDataKey')
    expect(codeOf(() => unwrapDataKey(wrapDataKey(keyOf('k'), publicKey), `0x${'00'.repeat(32)}`))).toBe(
      'InvalidPrivateKey',
    )
  })
})

/** Whether some point of secp256k1 has this x coordinate. */
function isCurveX(x: bigint): boolean {
  try {
    secp256k1.ProjectivePoint.fromHex(concat([new Uint8Array([0x02]), hexToBytes(toHex(x, { size: 32 }))]))
    return true
  } catch {
    return false
  }
}
