import { mintDevToken } from '../../tokens.js'
import { amountFlag, stringFlag, UsageError } from '../kit/args.js'
import { usageAddress } from '../kit/context.js'
import { formatAmount } from '../kit/output.js'
import { command } from '../kit/spec.js'

/** Anvil's chain id (the devnet's marketplace chain; 31338 is its Ethereum side): the only chains with a faucet. */
const devChainIds: readonly number[] = [31337, 31338]

export const faucet = command({
  description:
    'Devnet only: mints the deployment’s DevToken payment and stake tokens (anyone may mint them there). Refused on any other chain, where the tokens are real.',
  positionals: [
    { name: 'address', description: 'who receives them (default: the --private-key account)', optional: true },
  ],
  options: {
    amount: { type: 'string', value: '<amount>', description: 'how much of each token (default 1000)' },
  },
  examples: ['cairn faucet 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --amount 500'],
  run: async (ctx) => {
    const client = await ctx.client()
    const chainId = client.deployment.chainId
    if (!devChainIds.includes(chainId)) {
      throw new UsageError(
        `the faucet only mints on a devnet (chain ${devChainIds.join(' or ')}); this deployment is on chain ${chainId}`,
        ctx.command,
      )
    }
    const given = ctx.positionals[0]
    const to = given === undefined ? client.wallet.account.address : usageAddress(given, 'address', ctx.command)
    const amountText = stringFlag(ctx.flags, 'amount') ?? '1000'
    const { paymentToken, stakeToken } = client.deployment.contracts
    const minted = []
    for (const address of [paymentToken, stakeToken]) {
      const token = await ctx.token(client, address)
      const amount = amountFlag(amountText, token.decimals, 'amount', ctx.command)
      ctx.progress.step(`minting ${formatAmount(amount, token)} to ${to}`)
      const receipt = await mintDevToken(client, address, to, amount)
      minted.push({
        token: address,
        symbol: token.symbol,
        amount,
        amountFormatted: formatAmount(amount, token),
        transactionHash: receipt.transactionHash,
      })
    }
    ctx.progress.done()
    return { to, minted }
  },
  text: (result) =>
    [
      `minted to ${result.to}:`,
      ...result.minted.map((row) => `  ${row.amountFormatted}  (${row.transactionHash})`),
    ].join('\n'),
})
