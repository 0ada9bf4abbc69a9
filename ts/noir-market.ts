/**
 * Noir markets: an UltraHonkVerifierAdapter over a bb.js-generated UltraHonk verifier, configured from the circuit's
 * compiled program (its ABI gives the public input count) and the verifier itself (its expected proof length), then a
 * market with that adapter as its verifier. What `cairn market create --noir` does.
 *
 * The generated verifier (bb.js `getSolidityVerifier` from the program's verification key, for the market's flavour
 * and CRS; noir/README.md) must be deployed first: the adapter only wraps it. Its proof length is read from the
 * verifier itself: asked to verify an empty proof, a bb.js verifier reverts with
 * ProofLengthWrongWithLogN(logN, 0, expectedLength), which also shows the address holds such a verifier.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  type Hex,
  isHex,
  parseAbi,
  type TransactionReceipt,
} from 'viem'
import { type CairnClient, type CairnReader, sent } from './client.js'
import { ultraHonkVerifierAdapterAbi } from './generated.js'
import { createMarket } from './market.js'
import { type NoirProgram, noirPublicInputCount } from './noir.js'
import { repoRoot } from './root.js'
import type { MarketParams } from './types.js'

/** Gas the adapter forwards to its verifier by default: a ZK proof of a 2^8-row circuit takes about 2.9M. */
export const DEFAULT_NOIR_VERIFY_GAS = 4_000_000n

const honkVerifierAbi = parseAbi([
  'function verify(bytes proof, bytes32[] publicInputs) view returns (bool)',
  'error ProofLengthWrongWithLogN(uint256 logN, uint256 actualLength, uint256 expectedLength)',
])

/** The proof length (bytes) and log2 of the circuit size a bb.js UltraHonk verifier expects; throws if it is none. */
export async function honkVerifierProofLength(
  reader: CairnReader,
  verifier: Address,
): Promise<{ proofLength: bigint; logN: bigint }> {
  try {
    await reader.public.readContract({
      address: verifier,
      abi: honkVerifierAbi,
      functionName: 'verify',
      args: ['0x', []],
    })
  } catch (error) {
    const reverted = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : null
    if (reverted instanceof ContractFunctionRevertedError && reverted.data?.errorName === 'ProofLengthWrongWithLogN') {
      const [logN, , expectedLength] = reverted.data.args as readonly [bigint, bigint, bigint]
      return { proofLength: expectedLength, logN }
    }
  }
  throw new Error(
    `${verifier} is not a bb.js UltraHonk verifier: it does not answer an empty proof with ProofLengthWrongWithLogN`,
  )
}

/** The adapter's creation bytecode, from its forge artifact (`npm run build`). */
async function adapterBytecode(): Promise<Hex> {
  const path = join(repoRoot, 'out', 'UltraHonkVerifierAdapter.sol', 'UltraHonkVerifierAdapter.json')
  const artifact = JSON.parse(await readFile(path, 'utf8')) as { bytecode?: { object?: unknown } }
  const bytecode = artifact.bytecode?.object
  if (typeof bytecode !== 'string' || !isHex(bytecode) || bytecode === '0x') {
    throw new Error(`${path} has no bytecode: run \`npm run build\``)
  }
  return bytecode
}

export type NoirAdapterParams = {
  /** The circuit's compiled program: its ABI's public parameters are the adapter's public inputs. */
  program: NoirProgram
  /** The bb.js UltraHonk verifier generated for this program, deployed. */
  honkVerifier: Address
  verifyGasLimit?: bigint
}

/** Deploys an UltraHonkVerifierAdapter for a program's verifier; returns it with the encodings it enforces. */
export async function deployNoirAdapter(
  client: CairnClient,
  params: NoirAdapterParams,
): Promise<{ adapter: Address; publicInputCount: bigint; proofLength: bigint; receipt: TransactionReceipt }> {
  const publicInputCount = BigInt(noirPublicInputCount(params.program.abi))
  if (publicInputCount === 0n) {
    throw new Error('the program has no public inputs: nothing would bind a proof to a request (add a public context)')
  }
  const { proofLength } = await honkVerifierProofLength(client, params.honkVerifier)
  const args = [
    params.honkVerifier,
    publicInputCount,
    proofLength,
    params.verifyGasLimit ?? DEFAULT_NOIR_VERIFY_GAS,
  ] as const
  const bytecode = await adapterBytecode()
  const receipt = await sent(client, () =>
    client.wallet.deployContract({ abi: ultraHonkVerifierAdapterAbi, bytecode, args }),
  )
  if (!receipt.contractAddress) throw new Error(`no contract address in ${receipt.transactionHash}`)
  return { adapter: receipt.contractAddress, publicInputCount, proofLength, receipt }
}

/** Deploys the adapter, then creates a market verifying with it. */
export async function createNoirMarket(
  client: CairnClient,
  params: NoirAdapterParams & { market: Omit<MarketParams, 'verifier'> },
): Promise<{
  marketId: bigint
  fee: bigint
  adapter: Address
  publicInputCount: bigint
  proofLength: bigint
  receipt: TransactionReceipt
}> {
  const { adapter, publicInputCount, proofLength } = await deployNoirAdapter(client, params)
  const { marketId, fee, receipt } = await createMarket(client, { ...params.market, verifier: adapter })
  return { marketId, fee, adapter, publicInputCount, proofLength, receipt }
}
