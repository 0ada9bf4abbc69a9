import type { CommandTable } from './kit/spec.js'

/**
 * Every command: its name and summary here, its flags and code in ts/cli/commands/, loaded only when the command runs
 * or shows its own help, so `cairn --help` imports nothing heavier than this file (viem alone costs ~0.5 s of CPU).
 */
export const commands: CommandTable = {
  request: {
    summary:
      'request a proof: signed to the matcher when one is known (--matcher-url), else posted on chain; optionally wait for it',
    load: async () => (await import('./commands/requester.js')).request,
  },
  wait: {
    summary: 'wait for a request’s proof, showing progress',
    load: async () => (await import('./commands/requester.js')).wait,
  },
  status: {
    summary: 'show a request: its state (time-derived Expired/DeadlineMissed included), records and task',
    load: async () => (await import('./commands/requester.js')).status,
  },
  cancel: {
    summary:
      'cancel an unassigned request past its matching expiry (anyone may; the escrow goes to its refund address), or your signed request not used yet (its nonce)',
    load: async () => (await import('./commands/requester.js')).cancelRequest,
  },
  balance: {
    summary: 'show marketplace and wallet balances (payment token, stake token, native)',
    load: async () => (await import('./commands/requester.js')).balance,
  },
  deposit: {
    summary: 'deposit tokens into your marketplace balance (requests escrow from it first)',
    load: async () => (await import('./commands/requester.js')).depositCommand,
  },
  withdraw: {
    summary: 'withdraw your marketplace balance of a token, or --amount of it',
    load: async () => (await import('./commands/requester.js')).withdrawCommand,
  },
  slash: {
    summary: 'slash the prover of a request that missed its deadline (anyone may; you earn the slasher reward)',
    load: async () => (await import('./commands/settle.js')).slash,
  },
  verify: {
    summary: 'check a fulfilled request’s proof again with its market’s verifier contract',
    load: async () => (await import('./commands/settle.js')).verify,
  },
  faucet: {
    summary: 'devnet only: mint the payment and stake DevTokens to an address',
    load: async () => (await import('./commands/faucet.js')).faucet,
  },
  market: {
    summary: 'markets: create, show, list',
    subcommands: {
      create: {
        summary: 'create a market (paying the creation fee); you become its creator',
        load: async () => (await import('./commands/market.js')).marketCreate,
      },
      show: {
        summary: 'show a market: stored parameters, creator, metadata URI, request count',
        load: async () => (await import('./commands/market.js')).marketShow,
      },
      list: {
        summary: 'list every market created on this deployment, with its current metadata URI',
        load: async () => (await import('./commands/market.js')).marketList,
      },
    },
  },
  prover: {
    summary: 'prover machines: register, list in markets, leave, status, run the prover daemon',
    subcommands: {
      register: {
        summary: 'register your account as a prover machine',
        load: async () => (await import('./commands/prover.js')).proverRegister,
      },
      list: {
        summary: 'list your machine in a market with a price and proving time',
        load: async () => (await import('./commands/prover.js')).proverList,
      },
      update: {
        summary: 'change your offer in a market (applies to assignments from now on)',
        load: async () => (await import('./commands/prover.js')).proverUpdate,
      },
      leave: {
        summary:
          'leave a market: request (stops assignments at once), then --complete after the exit delay, or --cancel',
        load: async () => (await import('./commands/prover.js')).proverLeave,
      },
      deregister: {
        summary: 'remove your registration (no listings, no running task)',
        load: async () => (await import('./commands/prover.js')).proverDeregister,
      },
      capacity: {
        summary: 'change your machine’s declared compute capacity',
        load: async () => (await import('./commands/prover.js')).proverCapacity,
      },
      status: {
        summary: 'show a prover: registration, capacity in use, listings and native stake',
        load: async () => (await import('./commands/prover.js')).proverStatus,
      },
      run: {
        summary: 'run the prover runner daemon (its flags: `cairn prover run --help`)',
        daemon: 'enclave/prover/main.ts',
      },
    },
  },
  stake: {
    summary: 'native stake: deposit, unbond, withdraw, show',
    subcommands: {
      deposit: {
        summary: 'stake tokens in NativeStaking (for yourself or another prover)',
        load: async () => (await import('./commands/prover.js')).stakeDeposit,
      },
      unbond: {
        summary: 'start unbonding stake (withdrawable after the unbonding period), or --cancel it',
        load: async () => (await import('./commands/prover.js')).stakeUnbond,
      },
      withdraw: {
        summary: 'withdraw your fully unbonded stake',
        load: async () => (await import('./commands/prover.js')).stakeWithdraw,
      },
      show: {
        summary: 'show native stake: staked, locked, available, unbonding',
        load: async () => (await import('./commands/prover.js')).stakeShow,
      },
    },
  },
  restake: {
    summary:
      'Symbiotic restaking (Ethereum): vault deposits, operator opt-ins and binding, stakes, leaf proofs, mirrored stake',
    subcommands: {
      deposit: {
        summary: 'deposit collateral into a Symbiotic vault (approving it when needed)',
        load: async () => (await import('./commands/restake.js')).restakeDeposit,
      },
      'register-operator': {
        summary: 'register your account as a Symbiotic operator',
        load: async () => (await import('./commands/restake.js')).restakeRegisterOperator,
      },
      'opt-in': {
        summary:
          'opt in: the operator to Cairn’s network (--network) or to a vault (--vault), or a curator’s vault (--curator)',
        load: async () => (await import('./commands/restake.js')).restakeOptIn,
      },
      'sign-binding': {
        summary: 'as the prover: sign your half of an operator binding (hand it to the operator’s `restake bind`)',
        load: async () => (await import('./commands/restake.js')).restakeSignBinding,
      },
      bind: {
        summary: 'as the operator: bind your Symbiotic stake to a marketplace prover (both sign)',
        load: async () => (await import('./commands/restake.js')).restakeBind,
      },
      binding: {
        summary: 'show which prover an operator is bound to (or which operator a prover is)',
        load: async () => (await import('./commands/restake.js')).restakeBinding,
      },
      stakes: {
        summary: 'list the (operator, prover, vault) stakes Cairn’s middleware reports at a time',
        load: async () => (await import('./commands/restake.js')).restakeStakes,
      },
      prove: {
        summary: 'prove your stake leaf on the StakeMirror (marketplace chain), rebuilding the snapshot from Ethereum',
        load: async () => (await import('./commands/restake.js')).restakeProve,
      },
      mirrored: {
        summary:
          'show a prover’s mirrored stake on the StakeMirror (marketplace chain): per vault, and what backs new tasks',
        load: async () => (await import('./commands/restake.js')).restakeMirrored,
      },
    },
  },
  relayer: {
    summary: 'the stake relayer',
    subcommands: {
      run: {
        summary: 'run a stake relayer daemon (its flags: `cairn relayer run --help`)',
        daemon: 'relayer/src/main.ts',
      },
    },
  },
  explorer: {
    summary: 'serve the read-only web explorer: markets, requests, provers, live (its flags: `cairn explorer --help`)',
    daemon: 'explorer/src/main.ts',
  },
  matcher: {
    summary: 'the matcher',
    subcommands: {
      run: {
        summary: 'run the matcher daemon (its flags: `cairn matcher run --help`)',
        daemon: 'enclave/matcher/main.ts',
      },
    },
  },
}
