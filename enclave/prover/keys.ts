/**
 * The prover enclave's keyring: per market, a secp256k1 signing key (registered in the TeeRegistry: it signs TEE
 * proofs and invalid-input attestations) and a secp256k1 ECIES key (the matcher re-wraps private-input data keys to
 * it). It is the enclave's sealed state: persisted so that a restarted runner still opens inputs wrapped to keys it
 * registered before, and so that it never registers a key it could lose.
 *
 * Storage: one JSON file, written atomically (temp file + rename) with mode 0600. On TDX hardware it must live on the
 * TD's encrypted, measurement-bound storage (an encrypted root or data disk whose key is released to this TD only):
 * that disk is the seal. The file itself is not encrypted again, so outside a TD it is only as private as the disk.
 *
 * Lifecycle: a key is written here before it is registered (a crash in between leaves a key that is simply
 * registered on the next start), becomes current once registered, is rotated (a fresh key, a fresh quote) at a share
 * of its validity, and is dropped only once it has expired, a retention period has passed (a matcher may have read
 * it just before expiry and assign a little later) and no unfinished task of its market was assigned before then.
 */
import { chmod, readFile, rename, writeFile } from 'node:fs/promises'
import { type Address, getAddress, type Hex, isAddressEqual, isHex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { z } from 'zod'
import { eciesPublicKeyOf, generateEciesPrivateKey, isPrivateInputsError, unwrapDataKey } from '../../ts/privacy.js'

const KEYRING_VERSION = 1

export type EnclaveKey = {
  marketId: bigint
  /** The signing key's address: the TeeRegistry signer. */
  signer: Address
  signerKey: Hex
  eciesKey: Hex
  /** x ‖ y, as registered. */
  eciesPublicKey: Hex
  /** Chain time (seconds) of its registration; absent until registered. */
  registeredAt?: number
  /** Chain time its attestation expires; absent until registered. */
  expiresAt?: number
}

const hex32 = z
  .string()
  .refine((value) => isHex(value) && value.length === 66, 'expected 32 bytes of hex')
  .transform((value) => value as Hex)

const storedKey = z.object({
  marketId: z.string().regex(/^\d+$/),
  signerKey: hex32,
  eciesKey: hex32,
  registeredAt: z.number().int().optional(),
  expiresAt: z.number().int().optional(),
})

const keyringFile = z.object({
  version: z.literal(KEYRING_VERSION),
  chainId: z.number().int(),
  operator: z.string(),
  keys: z.array(storedKey),
})

export class KeyringError extends Error {
  override readonly name = 'KeyringError'
}

/** No key of the market opens the input key: the matcher wrapped it to a key this enclave never held (or lost). */
export class NoDecryptingKeyError extends Error {
  override readonly name = 'NoDecryptingKeyError'
}

export type Keyring = {
  readonly path: string
  /** The market's keys, newest first. */
  keys(marketId: bigint): readonly EnclaveKey[]
  /** The newest registered key of the market (what the registry returns as proverEnclave), if any. */
  current(marketId: bigint): EnclaveKey | undefined
  /** The newest key of the market, registered or not. */
  newest(marketId: bigint): EnclaveKey | undefined
  /** Generates a fresh key for the market and persists it before it is used anywhere. */
  generate(marketId: bigint): Promise<EnclaveKey>
  /** Records a key's registration. */
  registered(signer: Address, times: { registeredAt: number; expiresAt: number }): Promise<void>
  /** Unwraps an on-chain inputKey with whichever of the market's keys it was made for (newest first). */
  unwrap(marketId: bigint, inputKey: Hex): { dataKey: Hex; key: EnclaveKey }
  /** Drops keys `isUnused` says no task can need any more (never a market's newest or current key); returns them. */
  prune(isUnused: (key: EnclaveKey) => boolean): Promise<EnclaveKey[]>
}

function keyOf(
  marketId: bigint,
  signerKey: Hex,
  eciesKey: Hex,
  times: { registeredAt?: number | undefined; expiresAt?: number | undefined } = {},
): EnclaveKey {
  return {
    marketId,
    signer: privateKeyToAccount(signerKey).address,
    signerKey,
    eciesKey,
    eciesPublicKey: eciesPublicKeyOf(eciesKey),
    ...(times.registeredAt === undefined ? {} : { registeredAt: times.registeredAt }),
    ...(times.expiresAt === undefined ? {} : { expiresAt: times.expiresAt }),
  }
}

async function readKeyring(path: string, owner: { chainId: number; operator: Address }): Promise<EnclaveKey[]> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  const parsed = keyringFile.safeParse(JSON.parse(text))
  if (!parsed.success) throw new KeyringError(`${path}: ${z.prettifyError(parsed.error)}`)
  const file = parsed.data
  if (file.chainId !== owner.chainId || !isAddressEqual(getAddress(file.operator), owner.operator)) {
    throw new KeyringError(
      `${path} holds the keys of operator ${file.operator} on chain ${file.chainId}, ` +
        `not ${owner.operator} on chain ${owner.chainId}`,
    )
  }
  return file.keys.map((stored) => keyOf(BigInt(stored.marketId), stored.signerKey, stored.eciesKey, stored))
}

async function writeKeyring(path: string, owner: { chainId: number; operator: Address }, keys: EnclaveKey[]) {
  const file = {
    version: KEYRING_VERSION,
    chainId: owner.chainId,
    operator: owner.operator,
    keys: keys.map((key) => ({
      marketId: key.marketId.toString(),
      signerKey: key.signerKey,
      eciesKey: key.eciesKey,
      ...(key.registeredAt === undefined ? {} : { registeredAt: key.registeredAt }),
      ...(key.expiresAt === undefined ? {} : { expiresAt: key.expiresAt }),
    })),
  }
  const temporary = `${path}.${process.pid}.tmp`
  await writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 })
  await chmod(temporary, 0o600)
  await rename(temporary, path)
}

/** Opens (or starts) the keyring at `path` for one operator on one chain. */
export async function openKeyring(path: string, owner: { chainId: number; operator: Address }): Promise<Keyring> {
  // Oldest first in memory; the accessors reverse.
  let all = await readKeyring(path, owner)
  // Writes are chained: two overlapping writes of the same temp file could otherwise interleave.
  let writing: Promise<void> = Promise.resolve()
  const persist = () => {
    const snapshot = [...all]
    writing = writing.catch(() => undefined).then(() => writeKeyring(path, owner, snapshot))
    return writing
  }
  const keys = (marketId: bigint) => all.filter((key) => key.marketId === marketId).reverse()

  const current = (marketId: bigint) => keys(marketId).find((key) => key.expiresAt !== undefined)

  return {
    path,
    keys,
    current,
    newest: (marketId) => keys(marketId)[0],
    async generate(marketId) {
      const key = keyOf(marketId, generatePrivateKey(), generateEciesPrivateKey())
      all = [...all, key]
      await persist()
      return key
    },
    async registered(signer, times) {
      const key = all.find((candidate) => isAddressEqual(candidate.signer, signer))
      if (key === undefined) throw new KeyringError(`no key ${signer} in the keyring`)
      key.registeredAt = times.registeredAt
      key.expiresAt = times.expiresAt
      await persist()
    },
    unwrap(marketId, inputKey) {
      for (const key of keys(marketId)) {
        try {
          return { dataKey: unwrapDataKey(inputKey, key.eciesKey), key }
        } catch (error) {
          if (!isPrivateInputsError(error, 'UnwrapFailed')) throw error
        }
      }
      throw new NoDecryptingKeyError(`no enclave key of market ${marketId} opens the released input key`)
    },
    async prune(isUnused) {
      const markets = [...new Set(all.map((key) => key.marketId))]
      const kept = new Set(markets.flatMap((id) => [keys(id)[0], current(id)]))
      const dropped = all.filter((key) => !kept.has(key) && isUnused(key))
      if (dropped.length === 0) return []
      all = all.filter((key) => !dropped.includes(key))
      await persist()
      return dropped
    },
  }
}
