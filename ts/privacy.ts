/**
 * Private inputs of a proof request: encrypted by the requester, opened only inside attested enclaves.
 *
 * The requester encrypts the plaintext with AES-256-GCM under a fresh 32-byte data key and wraps that key with ECIES
 * (secp256k1) to each recipient: the matcher enclaves' ECIES keys as registered in the TeeRegistry (64 bytes,
 * x ‖ y, no 0x04 prefix). The envelope goes into the request (`privateInputs`, inline or by URI) and its keccak256
 * is the request's `privateInputs.digest`. A matcher finds its wrap by recipient id, unwraps the data key, checks
 * it against the key commitment and that the ciphertext authenticates, and re-wraps the data key to the assigned
 * prover enclave's ECIES key; that one wrap is published with the assignment as `bytes inputKey`, so only that
 * prover can decrypt.
 *
 * Envelope, version 2 (all integers big-endian):
 *
 *   version      1 byte     0x02
 *   commitment  32 bytes    keccak256(utf8("cairn-private-inputs-key-v2") ‖ dataKey)
 *   nonce       12 bytes    AES-GCM nonce of the ciphertext
 *   length       4 bytes    byte length of ciphertext ‖ tag (at least 16)
 *   ciphertext   length     AES-256-GCM(dataKey, nonce, plaintext, aad) ‖ 16-byte tag
 *   count        1 byte     number of key wraps, 1..255
 *   wraps        count × 125 bytes, each:
 *     recipient  32 bytes   keccak256(recipient's 64-byte ECIES public key): the registry's eciesPublicKeyHash,
 *                           so a recipient finds its wrap without trial decryption
 *     wrap       93 bytes   a key wrap, below
 *
 *   aad = utf8("cairn-private-inputs-v2") ‖ version ‖ uint256 chainId ‖ address marketplace (20)
 *         ‖ uint256 marketId ‖ address requester (20) ‖ bytes32 publicInputsDigest
 *
 * The AAD binds the ciphertext to one request: its market on one marketplace and chain, the account that posts it
 * (RequestCreated's `requester`) and its public inputs (keccak256 of their bytes, the marketplace's publicDigest).
 * Envelopes are public, so anyone can copy one into a request of their own; it then fails to decrypt there, and a
 * matcher refuses to assign it. Matchers and provers rebuild the AAD from the request's own fields, never from the
 * envelope. The recipient list is not authenticated on purpose: the matcher replaces it with a single re-wrap, and a
 * forged wrap can only carry a key that fails the commitment.
 *
 * AES-GCM is not key-committing: a requester can craft a ciphertext that authenticates under two data keys, each
 * opening it to other plaintext, and wrap one key to some recipients and the other to the rest. The commitment
 * pins the one data key every recipient must unwrap; it is part of the envelope, hence of the request's
 * inputsDigest, so the digest commits to a single plaintext and every matcher and prover sees the same statement.
 *
 * Key wrap (ECIES), 93 bytes; this is also the on-chain `inputKey`:
 *
 *   ephemeral   33 bytes    compressed secp256k1 public key of a fresh ephemeral key
 *   nonce       12 bytes
 *   sealed      48 bytes    AES-256-GCM(wrapKey, nonce, dataKey) ‖ 16-byte tag, no AAD
 *
 *   wrapKey = HKDF-SHA256(ikm = x-coordinate of ECDH(ephemeral, recipient), salt = empty,
 *                         info = utf8("cairn-ecies-v1") ‖ ephemeral (33) ‖ recipient public key (64), length 32)
 *
 * Binding both public keys in the info means a wrap only opens under the key it was made for, even if an attacker
 * substitutes a related point. The format is versioned by the envelope's version byte and the domain strings.
 */
import { createCipheriv, createDecipheriv, createECDH, hkdfSync, randomBytes } from 'node:crypto'
import { secp256k1 } from '@noble/curves/secp256k1'
import {
  type Address,
  bytesToHex,
  concat,
  type Hex,
  hexToBytes,
  isAddress,
  isHex,
  keccak256,
  numberToBytes,
  stringToBytes,
} from 'viem'

export const PRIVATE_INPUTS_VERSION = 2
export const ECIES_DOMAIN = 'cairn-ecies-v1'
export const PRIVATE_INPUTS_AAD_DOMAIN = 'cairn-private-inputs-v2'
export const KEY_COMMITMENT_DOMAIN = 'cairn-private-inputs-key-v2'

const NONCE_LENGTH = 12
const TAG_LENGTH = 16
const KEY_LENGTH = 32
const LENGTH_FIELD = 4
const COMMITMENT_LENGTH = 32
const HEADER_LENGTH = 1 + COMMITMENT_LENGTH + NONCE_LENGTH + LENGTH_FIELD
const PUBLIC_KEY_LENGTH = 64
const EPHEMERAL_KEY_LENGTH = 33
/** Byte length of a key wrap (and of an on-chain `inputKey`). */
export const KEY_WRAP_LENGTH = EPHEMERAL_KEY_LENGTH + NONCE_LENGTH + KEY_LENGTH + TAG_LENGTH
const RECIPIENT_ID_LENGTH = 32
const WRAP_ENTRY_LENGTH = RECIPIENT_ID_LENGTH + KEY_WRAP_LENGTH
const MAX_RECIPIENTS = 255
const MAX_CIPHERTEXT_LENGTH = 2 ** 32 - 1

export type PrivateInputsErrorCode =
  | 'InvalidPublicKey'
  | 'InvalidPrivateKey'
  | 'InvalidDataKey'
  | 'InvalidRecipients'
  | 'InvalidContext'
  | 'PlaintextTooLong'
  | 'MalformedEnvelope'
  | 'UnsupportedVersion'
  | 'MalformedWrap'
  | 'NoWrapForRecipient'
  | 'UnwrapFailed'
  | 'KeyCommitmentMismatch'
  | 'DecryptionFailed'

/** Any failure to build, parse or open private inputs; `code` says which. */
export class PrivateInputsError extends Error {
  override readonly name = 'PrivateInputsError'
  readonly code: PrivateInputsErrorCode

  constructor(code: PrivateInputsErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options)
    this.code = code
  }
}

export function isPrivateInputsError(error: unknown, code?: PrivateInputsErrorCode): error is PrivateInputsError {
  return error instanceof PrivateInputsError && (code === undefined || error.code === code)
}

/**
 * The request a ciphertext belongs to: it decrypts only under the same chain, marketplace, market, requester and
 * public inputs. Whoever opens an envelope builds this from the request itself (its RequestCreated log and the public
 * input bytes it evaluates), never from anything the envelope says.
 */
export type PrivateInputsContext = {
  chainId: number | bigint
  marketplace: Address
  marketId: bigint
  /** The account that posts the request: RequestCreated's `requester`. */
  requester: Address
  /** keccak256 of the request's public input bytes: what the marketplace commits to as its public digest. */
  publicInputsDigest: Hex
}

export type EncryptedPrivateInputs = {
  /** The envelope, as posted in the request's `privateInputs` (inline data or behind its URI). */
  envelope: Hex
  /** keccak256(envelope): the request's `privateInputs.digest`. */
  digest: Hex
  /** The data key; the requester may keep it to decrypt later, it never leaves the requester otherwise. */
  dataKey: Hex
}

export type KeyWrapEntry = {
  /** keccak256 of the recipient's 64-byte ECIES public key. */
  recipient: Hex
  wrap: Hex
}

export type ParsedEnvelope = {
  version: number
  /** keccak256(KEY_COMMITMENT_DOMAIN ‖ dataKey): the one data key the ciphertext may be opened with. */
  keyCommitment: Hex
  nonce: Uint8Array
  /** Ciphertext ‖ tag. */
  ciphertext: Uint8Array
  wraps: KeyWrapEntry[]
}

// ---------------------------------------------------------------------------------------------------------------
// Keys

/** A fresh random secp256k1 private key, for an enclave's ECIES key. */
export function generateEciesPrivateKey(): Hex {
  return bytesToHex(secp256k1.utils.randomPrivateKey())
}

/** The 64-byte x ‖ y ECIES public key of a private key, in the TeeRegistry's format. */
export function eciesPublicKeyOf(privateKey: Hex): Hex {
  return bytesToHex(secp256k1.getPublicKey(privateKeyBytes(privateKey), false).subarray(1))
}

/** A recipient's id in an envelope: keccak256 of its 64-byte ECIES public key (the registry's eciesPublicKeyHash). */
export function recipientIdOf(publicKey: Hex): Hex {
  return keccak256(publicKeyBytes(publicKey))
}

function publicKeyBytes(publicKey: Hex): Uint8Array {
  const bytes = hexBytes(publicKey, 'InvalidPublicKey', 'public key')
  if (bytes.length !== PUBLIC_KEY_LENGTH) {
    throw new PrivateInputsError(
      'InvalidPublicKey',
      `an ECIES public key is 64 bytes (x ‖ y, no 0x04 prefix), got ${bytes.length}`,
    )
  }
  try {
    secp256k1.ProjectivePoint.fromHex(concat([new Uint8Array([4]), bytes])).assertValidity()
  } catch (cause) {
    throw new PrivateInputsError('InvalidPublicKey', `${publicKey.slice(0, 18)}… is not a secp256k1 point`, { cause })
  }
  return bytes
}

function privateKeyBytes(privateKey: Hex): Uint8Array {
  const bytes = hexBytes(privateKey, 'InvalidPrivateKey', 'private key')
  if (bytes.length !== KEY_LENGTH || !secp256k1.utils.isValidPrivateKey(bytes)) {
    throw new PrivateInputsError('InvalidPrivateKey', 'not a valid 32-byte secp256k1 private key')
  }
  return bytes
}

function dataKeyBytes(dataKey: Hex): Uint8Array {
  const bytes = hexBytes(dataKey, 'InvalidDataKey', 'data key')
  if (bytes.length !== KEY_LENGTH) {
    throw new PrivateInputsError('InvalidDataKey', `a data key is 32 bytes, got ${bytes.length}`)
  }
  return bytes
}

function hexBytes(value: Hex | Uint8Array, code: PrivateInputsErrorCode, what: string): Uint8Array {
  if (value instanceof Uint8Array) return value
  if (typeof value !== 'string' || !isHex(value, { strict: true }) || value.length % 2 !== 0) {
    throw new PrivateInputsError(code, `${what} is not 0x-prefixed hex of whole bytes`)
  }
  return hexToBytes(value)
}

// ---------------------------------------------------------------------------------------------------------------
// AES-256-GCM

function seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array {
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LENGTH })
  if (aad) cipher.setAAD(aad)
  return concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
}

/** The plaintext, or undefined when the tag does not authenticate (wrong key, AAD or tampered bytes). */
function open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array | undefined {
  if (sealed.length < TAG_LENGTH) return undefined
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LENGTH })
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH))
  if (aad) decipher.setAAD(aad)
  try {
    return concat([decipher.update(sealed.subarray(0, sealed.length - TAG_LENGTH)), decipher.final()])
  } catch {
    return undefined
  }
}

function contextAad(context: PrivateInputsContext, version: number): Uint8Array {
  for (const [name, value] of [
    ['marketplace', context.marketplace],
    ['requester', context.requester],
  ] as const) {
    if (!isAddress(value, { strict: false })) {
      throw new PrivateInputsError('InvalidContext', `${name} ${String(value)} is not an address`)
    }
  }
  if (!isHex(context.publicInputsDigest, { strict: true }) || context.publicInputsDigest.length !== 66) {
    throw new PrivateInputsError(
      'InvalidContext',
      `publicInputsDigest ${String(context.publicInputsDigest)} is not 32 bytes of hex: pass keccak256 of the request's public input bytes`,
    )
  }
  const chainId = BigInt(context.chainId)
  if (chainId < 0n || context.marketId < 0n) {
    throw new PrivateInputsError('InvalidContext', 'chain id and market id must not be negative')
  }
  return concat([
    stringToBytes(PRIVATE_INPUTS_AAD_DOMAIN),
    new Uint8Array([version]),
    numberToBytes(chainId, { size: 32 }),
    hexToBytes(context.marketplace),
    numberToBytes(context.marketId, { size: 32 }),
    hexToBytes(context.requester),
    hexToBytes(context.publicInputsDigest),
  ])
}

/** The commitment an envelope carries to its data key (see the header). */
export function keyCommitmentOf(dataKey: Hex): Hex {
  return keccak256(concat([stringToBytes(KEY_COMMITMENT_DOMAIN), dataKeyBytes(dataKey)]))
}

// ---------------------------------------------------------------------------------------------------------------
// Key wraps (ECIES)

function wrapKeyOf(sharedX: Uint8Array, ephemeral: Uint8Array, recipient: Uint8Array): Uint8Array {
  const info = concat([stringToBytes(ECIES_DOMAIN), ephemeral, recipient])
  return new Uint8Array(hkdfSync('sha256', sharedX, new Uint8Array(0), info, KEY_LENGTH))
}

/** Wraps a data key to a recipient's 64-byte ECIES public key; what the matcher publishes as `inputKey`. */
export function wrapDataKey(dataKey: Hex, recipientPublicKey: Hex): Hex {
  const key = dataKeyBytes(dataKey)
  const recipient = publicKeyBytes(recipientPublicKey)
  const ephemeralKey = createECDH('secp256k1')
  ephemeralKey.generateKeys()
  const ephemeral = new Uint8Array(ephemeralKey.getPublicKey(null, 'compressed'))
  const sharedX = new Uint8Array(ephemeralKey.computeSecret(concat([new Uint8Array([4]), recipient])))
  const nonce = randomBytes(NONCE_LENGTH)
  const sealed = seal(wrapKeyOf(sharedX, ephemeral, recipient), nonce, key)
  return bytesToHex(concat([ephemeral, nonce, sealed]))
}

/** The data key in a wrap made for `privateKey`'s public key. */
export function unwrapDataKey(wrap: Hex | Uint8Array, privateKey: Hex): Hex {
  const bytes = hexBytes(wrap, 'MalformedWrap', 'key wrap')
  if (bytes.length !== KEY_WRAP_LENGTH) {
    throw new PrivateInputsError('MalformedWrap', `a key wrap is ${KEY_WRAP_LENGTH} bytes, got ${bytes.length}`)
  }
  const secret = privateKeyBytes(privateKey)
  const ephemeral = bytes.subarray(0, EPHEMERAL_KEY_LENGTH)
  const nonce = bytes.subarray(EPHEMERAL_KEY_LENGTH, EPHEMERAL_KEY_LENGTH + NONCE_LENGTH)
  const sealed = bytes.subarray(EPHEMERAL_KEY_LENGTH + NONCE_LENGTH)
  // ECDH by OpenSSL: the variable-base multiplication in JS took most of a prover task's own time (about 8 ms).
  const ecdh = createECDH('secp256k1')
  ecdh.setPrivateKey(secret)
  let sharedX: Uint8Array
  try {
    sharedX = new Uint8Array(ecdh.computeSecret(ephemeral))
  } catch (cause) {
    throw new PrivateInputsError('MalformedWrap', 'the ephemeral key is not a secp256k1 point', { cause })
  }
  const recipient = new Uint8Array(ecdh.getPublicKey()).subarray(1)
  const dataKey = open(wrapKeyOf(sharedX, ephemeral, recipient), nonce, sealed)
  if (!dataKey) {
    throw new PrivateInputsError(
      'UnwrapFailed',
      'the key wrap does not open under this key (another recipient, or tampered)',
    )
  }
  return bytesToHex(dataKey)
}

// ---------------------------------------------------------------------------------------------------------------
// Envelopes

/** Encrypts private inputs for a market under a fresh data key, wrapped to every recipient (e.g. the matchers). */
export function encryptPrivateInputs(params: {
  plaintext: Uint8Array
  context: PrivateInputsContext
  recipients: readonly Hex[]
}): EncryptedPrivateInputs {
  const { plaintext, context, recipients } = params
  if (recipients.length === 0 || recipients.length > MAX_RECIPIENTS) {
    throw new PrivateInputsError('InvalidRecipients', `1 to ${MAX_RECIPIENTS} recipients, got ${recipients.length}`)
  }
  const ids = recipients.map(recipientIdOf)
  if (new Set(ids).size !== ids.length) throw new PrivateInputsError('InvalidRecipients', 'a recipient is listed twice')
  if (plaintext.length + TAG_LENGTH > MAX_CIPHERTEXT_LENGTH) {
    throw new PrivateInputsError(
      'PlaintextTooLong',
      `plaintext of ${plaintext.length} bytes is too long for an envelope`,
    )
  }

  const aad = contextAad(context, PRIVATE_INPUTS_VERSION)
  const dataKey = bytesToHex(randomBytes(KEY_LENGTH))
  const nonce = randomBytes(NONCE_LENGTH)
  const ciphertext = seal(hexToBytes(dataKey), nonce, plaintext, aad)
  const wraps = recipients.map((recipient, i) => concat([ids[i] as Hex, wrapDataKey(dataKey, recipient)]))
  const envelope = concat([
    numberToBytes(PRIVATE_INPUTS_VERSION, { size: 1 }),
    hexToBytes(keyCommitmentOf(dataKey)),
    nonce,
    numberToBytes(ciphertext.length, { size: LENGTH_FIELD }),
    ciphertext,
    numberToBytes(recipients.length, { size: 1 }),
    ...wraps.map((wrap) => hexToBytes(wrap)),
  ])
  const hex = bytesToHex(envelope)
  return { envelope: hex, digest: keccak256(hex), dataKey }
}

/** Splits an envelope into its fields; MalformedEnvelope or UnsupportedVersion when it is not a v2 envelope. */
export function parseEnvelope(envelope: Hex | Uint8Array): ParsedEnvelope {
  const bytes = hexBytes(envelope, 'MalformedEnvelope', 'envelope')
  const version = bytes[0]
  if (version === undefined) throw new PrivateInputsError('MalformedEnvelope', 'the envelope is empty')
  if (version !== PRIVATE_INPUTS_VERSION) {
    throw new PrivateInputsError(
      'UnsupportedVersion',
      `envelope version ${version}, this code reads version ${PRIVATE_INPUTS_VERSION} only: encrypt the inputs again with this SDK`,
    )
  }
  if (bytes.length < HEADER_LENGTH) {
    throw new PrivateInputsError('MalformedEnvelope', `${bytes.length} bytes is shorter than the envelope header`)
  }
  const keyCommitment = bytesToHex(bytes.subarray(1, 1 + COMMITMENT_LENGTH))
  const nonceAt = 1 + COMMITMENT_LENGTH
  const nonce = bytes.subarray(nonceAt, nonceAt + NONCE_LENGTH)
  const length = new DataView(bytes.buffer, bytes.byteOffset + nonceAt + NONCE_LENGTH, LENGTH_FIELD).getUint32(0)
  const countAt = HEADER_LENGTH + length
  if (length < TAG_LENGTH || countAt >= bytes.length) {
    throw new PrivateInputsError('MalformedEnvelope', `ciphertext length ${length} does not fit ${bytes.length} bytes`)
  }
  const count = bytes[countAt] ?? 0
  const expected = countAt + 1 + count * WRAP_ENTRY_LENGTH
  if (count === 0 || bytes.length !== expected) {
    throw new PrivateInputsError(
      'MalformedEnvelope',
      `${count} key wraps need ${expected} bytes in all, the envelope has ${bytes.length}`,
    )
  }
  const wraps: KeyWrapEntry[] = []
  for (let at = countAt + 1; at < bytes.length; at += WRAP_ENTRY_LENGTH) {
    wraps.push({
      recipient: bytesToHex(bytes.subarray(at, at + RECIPIENT_ID_LENGTH)),
      wrap: bytesToHex(bytes.subarray(at + RECIPIENT_ID_LENGTH, at + WRAP_ENTRY_LENGTH)),
    })
  }
  return { version, keyCommitment, nonce, ciphertext: bytes.subarray(HEADER_LENGTH, countAt), wraps }
}

/** The key wrap addressed to `recipientPublicKey` (64 bytes), or undefined when the envelope has none for it. */
export function findWrap(envelope: Hex | Uint8Array, recipientPublicKey: Hex): Hex | undefined {
  const id = recipientIdOf(recipientPublicKey)
  return parseEnvelope(envelope).wraps.find((entry) => entry.recipient === id)?.wrap
}

/**
 * The plaintext of an envelope, given its data key and the request it must belong to. A data key other than the one
 * the envelope commits to is refused before any decryption (KeyCommitmentMismatch): whoever wrapped it to this
 * recipient would show it other inputs than the committed ones.
 */
export function decryptPrivateInputs(
  envelope: Hex | Uint8Array,
  dataKey: Hex,
  context: PrivateInputsContext,
): Uint8Array {
  const { version, keyCommitment, nonce, ciphertext } = parseEnvelope(envelope)
  const aad = contextAad(context, version)
  if (keyCommitmentOf(dataKey) !== keyCommitment) {
    throw new PrivateInputsError(
      'KeyCommitmentMismatch',
      'the unwrapped data key is not the one the envelope commits to: the requester wrapped different keys to different recipients; refuse the request',
    )
  }
  const plaintext = open(dataKeyBytes(dataKey), nonce, ciphertext, aad)
  if (!plaintext) {
    throw new PrivateInputsError(
      'DecryptionFailed',
      'the ciphertext does not authenticate under this request: another chain, marketplace, market, requester or public inputs (an envelope copied from another request), or tampered',
    )
  }
  return plaintext
}

/** A recipient's data key: finds its wrap by its public key and unwraps it. */
export function unwrapFromEnvelope(envelope: Hex | Uint8Array, privateKey: Hex): Hex {
  const publicKey = eciesPublicKeyOf(privateKey)
  const wrap = findWrap(envelope, publicKey)
  if (!wrap) {
    throw new PrivateInputsError('NoWrapForRecipient', `the envelope has no key wrap for ${recipientIdOf(publicKey)}`)
  }
  return unwrapDataKey(wrap, privateKey)
}

/** Opens an envelope with a recipient's private key (a matcher, or the requester's own key if listed). */
export function openPrivateInputs(params: {
  envelope: Hex | Uint8Array
  privateKey: Hex
  context: PrivateInputsContext
}): Uint8Array {
  return decryptPrivateInputs(params.envelope, unwrapFromEnvelope(params.envelope, params.privateKey), params.context)
}

/**
 * The matcher's step: unwraps its data key, checks it against the envelope's key commitment and that the ciphertext
 * authenticates under the request's context (a request whose inputs cannot be decrypted must not be assigned), and
 * wraps the data key to the assigned prover enclave's ECIES key. The result is the assignment's `inputKey`.
 */
export function rewrapForProver(params: {
  envelope: Hex | Uint8Array
  matcherPrivateKey: Hex
  proverPublicKey: Hex
  context: PrivateInputsContext
}): Hex {
  const dataKey = unwrapFromEnvelope(params.envelope, params.matcherPrivateKey)
  decryptPrivateInputs(params.envelope, dataKey, params.context)
  return wrapDataKey(dataKey, params.proverPublicKey)
}

/** The prover's step: opens the envelope with the assignment's `inputKey` and the prover enclave's ECIES key. */
export function decryptWithInputKey(params: {
  envelope: Hex | Uint8Array
  inputKey: Hex
  privateKey: Hex
  context: PrivateInputsContext
}): Uint8Array {
  return decryptPrivateInputs(params.envelope, unwrapDataKey(params.inputKey, params.privateKey), params.context)
}
