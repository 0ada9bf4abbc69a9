import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { isAddressEqual } from 'viem'
import type { CairnReader } from '../../client.js'
import { encodeOrder, parseOrderBody } from '../../orders.js'
import { type SignedRequestWithSignature, signedRequestId } from '../../signed-requests.js'
import { readTextIfExists } from '../../text-file.js'
import { cairnHome } from './home.js'

/*
 * Where `cairn request` keeps the signed requests it sends: until one is used it exists nowhere on chain, so
 * `cairn status`, `cairn wait` and `cairn cancel` need it from here to see its state, post it or cancel its nonce.
 * One JSON file per request: the order body (orders.ts, the same JSON the matcher gets) with its chain, marketplace
 * and id. It holds nothing secret (private inputs are in it encrypted, never their data key), but it is written 0600.
 * Default folder: $CAIRN_HOME/signed (CAIRN_HOME defaults to ~/.cairn).
 */

/** The default file of a signed request: <cairn home>/signed/<chainId>-<requestId>.json. */
export function signedRequestPath(env: NodeJS.ProcessEnv, chainId: number, requestId: bigint): string {
  const home = cairnHome(env)
  return join(home, 'signed', `${chainId}-${requestId}.json`)
}

export async function saveSignedRequest(
  path: string,
  reader: CairnReader,
  signed: SignedRequestWithSignature,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const body = JSON.parse(encodeOrder(signed)) as object
  const file = {
    chainId: reader.deployment.chainId,
    marketplace: reader.deployment.contracts.proofMarketplace,
    requestId: signed.requestId.toString(),
    ...body,
  }
  await writeFile(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 })
}

/** A saved signed request; undefined when there is no such file. Throws when the file is not one of this chain's. */
export async function loadSignedRequest(
  path: string,
  reader: CairnReader,
): Promise<SignedRequestWithSignature | undefined> {
  const text = await readTextIfExists(path).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot read the signed request ${path}: ${error.code ?? error}`)
  })
  if (text === undefined) return undefined
  let json: { chainId?: unknown; marketplace?: unknown; request?: unknown; signature?: unknown }
  try {
    json = JSON.parse(text)
  } catch {
    throw new Error(`${path} is not JSON: give the file \`cairn request\` saved (--save-signed)`)
  }
  const parsed = parseOrderBody({ request: json.request, signature: json.signature })
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(`${path} is not a saved signed request: ${issue?.path.join('.')}: ${issue?.message}`)
  }
  const { deployment } = reader
  if (
    json.chainId !== deployment.chainId ||
    typeof json.marketplace !== 'string' ||
    !isAddressEqual(json.marketplace as `0x${string}`, deployment.contracts.proofMarketplace)
  ) {
    throw new Error(
      `${path} is a signed request for chain ${json.chainId} marketplace ${json.marketplace}, not this deployment's (chain ${deployment.chainId}, ${deployment.contracts.proofMarketplace})`,
    )
  }
  return { ...parsed.data, requestId: signedRequestId(deployment, parsed.data.request) }
}
