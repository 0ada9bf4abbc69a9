import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { type Address, type Hex, isHex, type PrivateKeyAccount } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { EnclaveAttestation, EnclaveConfig } from '../../ts/enclave-config.js'
import { eciesPublicKeyOf, generateEciesPrivateKey } from '../../ts/privacy.js'
import { type KeyRegistration, registerServiceKey } from '../../ts/service/key-registration.js'
import type { TeeClient } from '../../ts/tee.js'
import { envName } from './config.js'

/*
 * The matcher enclave's key: one secp256k1 key is both its signing key (its address is the attested Matcher-role
 * signer that authorises assignment batches) and its ECIES key (requesters wrap private-input data keys to it).
 * Keeping it across restarts matters: requests already wrapped to it stay decryptable, so a restart re-attests the
 * same key instead of minting a new one. The file holds the key in the clear; inside a TD it must live on the TD's
 * encrypted (sealed) storage, which only the same measured image can open.
 */

export type EnclaveKey = {
  privateKey: Hex
  account: PrivateKeyAccount
  address: Address
  /** x ‖ y, 64 bytes: what the TeeRegistry stores and what envelopes name their recipients by. */
  eciesPublicKey: Hex
  /** Whether this start created the key file. */
  created: boolean
}

type KeyFile = { version: 1; privateKey: Hex }

/** Loads the key file, or creates it (mode 0600, never overwriting a file another process wrote first). */
export async function loadOrCreateKey(path: string): Promise<EnclaveKey> {
  let text: string | undefined
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  if (text !== undefined) return keyOf(parseKeyFile(text, path), false)
  const privateKey = generateEciesPrivateKey()
  const file: KeyFile = { version: 1, privateKey }
  await mkdir(dirname(path), { recursive: true })
  try {
    await writeFile(path, `${JSON.stringify(file)}\n`, { mode: 0o600, flag: 'wx' })
  } catch (error) {
    // Lost a race with another start: use the key that won.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateKey(path)
    throw error
  }
  return keyOf(privateKey, true)
}

function parseKeyFile(text: string, path: string): Hex {
  const json = JSON.parse(text) as Partial<KeyFile>
  const key = json.privateKey
  if (json.version !== 1 || typeof key !== 'string' || !isHex(key) || key.length !== 66) {
    throw new Error(`${path}: not a matcher key file (expected {"version":1,"privateKey":"0x…32 bytes"})`)
  }
  return key
}

function keyOf(privateKey: Hex, created: boolean): EnclaveKey {
  const account = privateKeyToAccount(privateKey)
  return { privateKey, account, address: account.address, eciesPublicKey: eciesPublicKeyOf(privateKey), created }
}

/**
 * What this matcher attests for: Matcher keys at the TeeRegistry of its configured chain. Its TD is launched with
 * this configuration's MRCONFIGID, and the registry may pin it.
 */
export function matcherEnclaveConfig(chainId: number, teeRegistry: Address): EnclaveConfig {
  return { role: 'Matcher', registries: [{ chainId, registry: teeRegistry }] }
}

/** The matcher key's registration: when it was registered, expires, and is renewed. */
export type Attested = KeyRegistration

/**
 * The matcher's operator (the account of --submitter-private-key) is not admitted for the Matcher role: no retry
 * helps until governance admits it or the flag names an admitted operator's key.
 */
export class MatcherOperatorError extends Error {
  override readonly name = 'MatcherOperatorError'
}

/**
 * Quotes the key, registers it as a Matcher through `client` (the matcher's operator: the registry takes the
 * registration only from the admitted operator's own account, which becomes the key's operator), and schedules the
 * renewal. `enclave` must attest for the Matcher role at `client`'s chain and registry.
 */
export function attest(client: TeeClient, key: EnclaveKey, enclave: EnclaveAttestation): Promise<Attested> {
  return registerServiceKey(client, { enclave, signer: key.address, eciesPublicKey: key.eciesPublicKey }, (error) => {
    const flag = `--submitter-private-key (${envName('submitter-private-key')})`
    return new MatcherOperatorError(
      `${error.message}. The matcher's operator is the account of ${flag}: give the key of an admitted matcher ` +
        'operator there, or have governance admit this one',
      { cause: error },
    )
  })
}
