import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type Address, type TransactionReceipt, zeroAddress } from 'viem'
import { iStakeSourceAbi } from '../../generated.js'
import { createMarket, getMarketDetails, listMarkets, MAX_FALLBACK_DELAY } from '../../market.js'
import { INSECURE_DEV_CRS, type NoirCrs, type NoirProgram, noirPublicInputCount, parseNoirProgram } from '../../noir.js'
import { createNoirMarket, DEFAULT_NOIR_VERIFY_GAS } from '../../noir-market.js'
import {
  checkNoirCrs,
  createNoirMarketWithVerifier,
  HONK_FLAVOUR_NAMES,
  type HonkFlavour,
  INSECURE_DEV_CRS_WARNING,
  NoirCrsError,
} from '../../noir-verifier.js'
import { amountFlag, durationFlag, integerFlag, requiredFlag, stringFlag, UsageError } from '../kit/args.js'
import { type CommandContext, usageAddress } from '../kit/context.js'
import { cairnHome } from '../kit/home.js'
import { formatAmount } from '../kit/output.js'
import { command } from '../kit/spec.js'

export const marketCreate = command({
  description:
    'The verifier, payment token and stake source default to the deployment’s Groth16 adapter, payment token and native staking. Stake amounts are in the stake source’s token. A Noir market: --noir <compiled program .json> deploys an UltraHonkVerifierAdapter taking the program’s public inputs (from its ABI) and its verifier’s proof length (asked of the verifier), and creates the market with it; its metadata URI defaults to noir:sha256:<program hash>. The verifier is either --honk-verifier <address> (a bb.js UltraHonk verifier of that program you deployed) or, without it, generated from the program with bb.js on the CRS you name (--crs <Ignition CRS folder> for production, or --insecure-dev-crs for devnets and tests: anyone can forge proofs such a verifier accepts), in --flavour zk (default; masks private inputs) or no-zk, compiled with solc-js 0.8.30 (cached under $CAIRN_HOME/cache/honk-verifiers) and deployed, with its ZKTranscriptLib first for zk. The prover runner of the market must prove on the same CRS and flavour (its market entry’s noir.crs and noir.flavour).',
  options: {
    noir: {
      type: 'string',
      value: '<program.json>',
      description: 'a Noir circuit’s compiled program (nargo/noir_wasm JSON): create a Noir market for it',
    },
    'honk-verifier': {
      type: 'string',
      value: '<address>',
      description:
        'with --noir: the deployed bb.js UltraHonk verifier of that program (default: generate and deploy one)',
    },
    crs: {
      type: 'string',
      value: '<dir|file>',
      description:
        'with --noir and no --honk-verifier: build the verifier on Aztec’s Ignition CRS in this folder (bn254_g1.dat, bn254_g2.dat; nothing is downloaded)',
    },
    'insecure-dev-crs': {
      type: 'boolean',
      description:
        'with --noir and no --honk-verifier: build the verifier on the INSECURE development CRS (public tau: proofs are forgeable; devnets and tests only)',
    },
    flavour: {
      type: 'string',
      value: '<zk|no-zk>',
      description:
        'with --noir and no --honk-verifier: the generated verifier’s flavour (default zk: proofs reveal nothing of the private inputs; noir/README.md)',
    },
    'verify-gas': {
      type: 'string',
      value: '<gas>',
      description: `with --noir: gas the adapter gives each verification (default ${DEFAULT_NOIR_VERIFY_GAS})`,
    },
    verifier: {
      type: 'string',
      value: '<address>',
      description: 'IProofVerifier adapter (default: the deployment’s groth16Adapter)',
    },
    'payment-token': {
      type: 'string',
      value: '<address>',
      description: 'ERC20 requests escrow (default: the deployment’s)',
    },
    'stake-source': {
      type: 'string',
      value: '<address>',
      description: 'approved IStakeSource (default: native staking)',
    },
    'stake-per-task': { type: 'string', value: '<amount>', description: 'stake locked per task (required)' },
    'slash-penalty': {
      type: 'string',
      value: '<amount>',
      description: 'taken from it on a missed deadline (required)',
    },
    'compensation-bps': {
      type: 'string',
      value: '<bps>',
      description: 'requester’s share of a penalty (default 5000, max 9500)',
    },
    'fallback-delay': {
      type: 'string',
      value: '<duration>',
      description: `before provers may claim without the matcher (default 30s, max ${MAX_FALLBACK_DELAY / 3600}h)`,
    },
    'metadata-uri': {
      type: 'string',
      value: '<uri>',
      description: 'circuit, artifacts, input encoding (default empty)',
    },
  },
  examples: [
    'cairn market create --stake-per-task 100 --slash-penalty 50 --metadata-uri ipfs://…',
    'cairn market create --noir noir/build/poseidon2_preimage.json --honk-verifier 0x… --stake-per-task 100 --slash-penalty 50',
    'cairn market create --noir noir/build/poseidon2_preimage.json --crs ~/.bb-crs --stake-per-task 100 --slash-penalty 50',
    'cairn market create --noir noir/build/poseidon2_preimage.json --insecure-dev-crs --flavour no-zk --stake-per-task 100 --slash-penalty 50',
  ],
  run: async (ctx) => {
    const { flags, command: name } = ctx
    const noir = await noirFlags(ctx)
    const client = await ctx.client()
    const { contracts } = client.deployment
    const addressFlag = (flag: string, fallback: `0x${string}`) => {
      const value = stringFlag(flags, flag)
      return value === undefined ? fallback : usageAddress(value, flag, name)
    }
    const stakeSource = addressFlag('stake-source', contracts.nativeStaking)
    const stakeToken = await client.public.readContract({
      address: stakeSource,
      abi: iStakeSourceAbi,
      functionName: 'stakeToken',
    })
    const { decimals } = await ctx.token(client, stakeToken)
    const bps = stringFlag(flags, 'compensation-bps')
    const delay = stringFlag(flags, 'fallback-delay')
    const market = {
      paymentToken: addressFlag('payment-token', contracts.paymentToken),
      stakeSource,
      stakePerTask: amountFlag(requiredFlag(flags, 'stake-per-task', name), decimals, 'stake-per-task', name),
      slashPenalty: amountFlag(requiredFlag(flags, 'slash-penalty', name), decimals, 'slash-penalty', name),
      requesterCompensationBps: bps === undefined ? 5_000 : Number(integerFlag(bps, 'compensation-bps', name)),
      fallbackDelay: delay === undefined ? 30 : durationFlag(delay, 'fallback-delay', name),
      metadataURI: stringFlag(flags, 'metadata-uri') ?? (noir === undefined ? '' : `noir:sha256:${noir.hash}`),
    }
    const native = await ctx.token(client, zeroAddress)
    /** What every market creation reports, whatever its verifier. */
    const createdMarket = (created: { marketId: bigint; fee: bigint; receipt: TransactionReceipt }) => ({
      marketId: created.marketId,
      creationFee: created.fee,
      creationFeeFormatted: formatAmount(created.fee, native),
      transactionHash: created.receipt.transactionHash,
    })
    if (noir !== undefined && noir.generate !== undefined) {
      const { flavour, crs } = noir.generate
      if (crs === INSECURE_DEV_CRS) ctx.progress.note(`warning: ${INSECURE_DEV_CRS_WARNING}`)
      const created = await createNoirMarketWithVerifier(client, {
        program: noir.program,
        flavour,
        crs,
        cacheDir: join(cairnHome(ctx.env), 'cache', 'honk-verifiers'),
        onStep: (message) => ctx.progress.step(message),
        market,
        ...(noir.verifyGasLimit === undefined ? {} : { verifyGasLimit: noir.verifyGasLimit }),
      }).catch((error: unknown) => {
        // A CRS too short for this circuit is only known once the circuit is sized.
        if (error instanceof NoirCrsError) throw new UsageError(`--crs: ${error.message}`, name)
        throw error
      })
      ctx.progress.done()
      const { verifier } = created
      return {
        ...createdMarket(created),
        noir: {
          verifier: created.adapter,
          adapter: created.adapter,
          honkVerifier: verifier.honkVerifier,
          ...(verifier.transcriptLib === undefined ? {} : { transcriptLib: verifier.transcriptLib }),
          flavour: verifier.flavour,
          crs: verifier.crs,
          ...(verifier.crs === 'insecure-dev' ? { warning: INSECURE_DEV_CRS_WARNING } : {}),
          publicInputCount: created.publicInputCount,
          proofLength: created.proofLength,
          honkVerifierRuntimeSize: verifier.runtimeSize,
          ...(verifier.libraryRuntimeSize === undefined
            ? {}
            : { transcriptLibRuntimeSize: verifier.libraryRuntimeSize }),
          compileCached: verifier.compileCached,
          timingsMs: verifier.timings,
        },
      }
    }
    if (noir !== undefined && noir.honkVerifier !== undefined) {
      ctx.progress.step('deploying the UltraHonk adapter and creating the Noir market')
      const created = await createNoirMarket(client, { ...noir, honkVerifier: noir.honkVerifier, market })
      ctx.progress.done()
      return {
        ...createdMarket(created),
        noir: {
          verifier: created.adapter,
          adapter: created.adapter,
          honkVerifier: noir.honkVerifier,
          publicInputCount: created.publicInputCount,
          proofLength: created.proofLength,
        },
      }
    }
    ctx.progress.step('creating the market')
    const created = await createMarket(client, {
      ...market,
      verifier: addressFlag('verifier', contracts.groth16Adapter),
    })
    ctx.progress.done()
    return createdMarket(created)
  },
})

/**
 * A Noir market's flags, checked before anything is sent: the program read and its ABI checked, and either the
 * deployed verifier named or the CRS and flavour of the one to generate (a production CRS folder checked for its files).
 */
async function noirFlags(ctx: CommandContext) {
  const { flags, command: name } = ctx
  const path = stringFlag(flags, 'noir')
  const honkVerifierFlag = stringFlag(flags, 'honk-verifier')
  const crsPath = stringFlag(flags, 'crs')
  const devCrs = flags['insecure-dev-crs'] === true
  const flavourFlag = stringFlag(flags, 'flavour')
  if (path === undefined) {
    for (const flag of ['honk-verifier', 'verify-gas', 'crs', 'flavour']) {
      if (stringFlag(flags, flag) !== undefined) throw new UsageError(`--${flag} needs --noir <program.json>`, name)
    }
    if (devCrs) throw new UsageError('--insecure-dev-crs needs --noir <program.json>', name)
    return undefined
  }
  if (stringFlag(flags, 'verifier') !== undefined) {
    throw new UsageError('--noir deploys the market’s verifier (an UltraHonk adapter): drop --verifier', name)
  }
  let generate: { flavour: HonkFlavour; crs: NoirCrs } | undefined
  let honkVerifier: Address | undefined
  if (honkVerifierFlag !== undefined) {
    const extra = [
      crsPath === undefined ? [] : ['--crs'],
      devCrs ? ['--insecure-dev-crs'] : [],
      flavourFlag === undefined ? [] : ['--flavour'],
    ].flat()
    if (extra.length > 0) {
      throw new UsageError(
        `--honk-verifier names a verifier already deployed, whose CRS and flavour are fixed: drop ${extra.join(' and ')}, ` +
          'or drop --honk-verifier to have the verifier generated and deployed',
        name,
      )
    }
    honkVerifier = usageAddress(honkVerifierFlag, 'honk-verifier', name)
  } else {
    if (crsPath !== undefined && devCrs) {
      throw new UsageError('--crs and --insecure-dev-crs name two CRSs: give one', name)
    }
    if (crsPath === undefined && !devCrs) {
      throw new UsageError(
        '--noir without --honk-verifier generates the verifier, on a CRS you name (there is no default): ' +
          '--crs <folder> with Aztec’s Ignition CRS (production), or --insecure-dev-crs (development CRS, anyone can ' +
          'forge proofs: devnets and tests only); or pass --honk-verifier <address> of a verifier you deployed',
        name,
      )
    }
    const flavour = (flavourFlag ?? 'zk') as HonkFlavour
    if (!HONK_FLAVOUR_NAMES.includes(flavour)) {
      throw new UsageError(`--flavour: ${JSON.stringify(flavourFlag)} is not ${HONK_FLAVOUR_NAMES.join(' or ')}`, name)
    }
    const crs: NoirCrs = crsPath === undefined ? INSECURE_DEV_CRS : { ignitionCrsPath: crsPath }
    await checkNoirCrs(crs).catch((error: unknown) => {
      if (error instanceof NoirCrsError) {
        throw new UsageError(`--crs: ${error.message} (or, on a devnet only, use --insecure-dev-crs)`, name)
      }
      throw error
    })
    generate = { flavour, crs }
  }
  const gas = stringFlag(flags, 'verify-gas')
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`--noir: cannot read ${path}: ${error.code ?? error}`, name)
  })
  let program: NoirProgram
  try {
    program = parseNoirProgram(JSON.parse(text), path)
  } catch (error) {
    throw new UsageError(`--noir: ${error instanceof Error ? error.message : String(error)}`, name)
  }
  if (noirPublicInputCount(program.abi) === 0) {
    throw new UsageError(`--noir: ${path} has no public inputs: nothing would bind a proof to a request`, name)
  }
  return {
    program,
    honkVerifier,
    generate,
    hash: createHash('sha256').update(text).digest('hex'),
    ...(gas === undefined ? {} : { verifyGasLimit: integerFlag(gas, 'verify-gas', name) }),
  }
}

export const marketShow = command({
  positionals: [{ name: 'marketId', description: 'the market id' }],
  run: async (ctx) => {
    const marketId = integerFlag(ctx.positionals[0] as string, 'marketId', ctx.command)
    const reader = await ctx.reader()
    const details = await getMarketDetails(reader, marketId)
    if (details === undefined) throw new UsageError(`no market ${marketId}`, ctx.command)
    const { market } = details
    const [payment, stake] = await Promise.all([
      ctx.token(reader, market.paymentToken),
      reader.public
        .readContract({ address: market.stakeSource, abi: iStakeSourceAbi, functionName: 'stakeToken' })
        .then((token) => ctx.token(reader, token)),
    ])
    return {
      marketId,
      creator: details.creator,
      metadataURI: details.metadataURI,
      verifier: market.verifier,
      paymentToken: market.paymentToken,
      paymentSymbol: payment.symbol,
      stakeSource: market.stakeSource,
      stakePerTask: market.stakePerTask,
      stakePerTaskFormatted: formatAmount(market.stakePerTask, stake),
      slashPenalty: market.slashPenalty,
      slashPenaltyFormatted: formatAmount(market.slashPenalty, stake),
      requesterCompensationBps: market.requesterCompensationBps,
      fallbackDelay: market.fallbackDelay,
      requestCount: market.requestCount,
      createdInBlock: details.createdInBlock,
    }
  },
})

export const marketList = command({
  run: async (ctx) => {
    const markets = await listMarkets(await ctx.reader())
    return {
      markets: markets.map((m) => ({
        marketId: m.marketId,
        creator: m.creator,
        metadataURI: m.metadataURI,
        verifier: m.params.verifier,
        paymentToken: m.params.paymentToken,
        stakeSource: m.params.stakeSource,
        createdInBlock: m.createdInBlock,
      })),
    }
  },
  text: (result) =>
    result.markets.length === 0
      ? 'no markets'
      : result.markets
          .map((m) => `${String(m.marketId).padStart(4)}  ${m.creator}  ${m.metadataURI || '-'}`)
          .join('\n'),
})
