import { describe, expect, it } from 'vitest'
import { matcherCli } from '../enclave/matcher/config.js'
import { proverCli } from '../enclave/prover/config.js'
import { relayerCli } from '../relayer/src/config.js'
import { ConfigError, envVariable, loadServiceConfig, type ServiceCli } from '../ts/service/config.js'
import { startCairn } from './cairn.js'

/** Each daemon as `cairn <name> run`, with a complete environment but for the flags a case leaves out. */
const daemons: { name: string; cli: ServiceCli; env: NodeJS.ProcessEnv; required: string; malformed: string[] }[] = [
  {
    name: 'prover',
    cli: proverCli as unknown as ServiceCli,
    env: {
      PROVER_RPC_URL: 'http://127.0.0.1:1',
      PROVER_CHAIN_ID: '31337',
      PROVER_PRIVATE_KEY: `0x${'11'.repeat(32)}`,
      PROVER_KEY_FILE: '/tmp/cairn-cli-daemons.keyring.json',
      PROVER_MARKETS: JSON.stringify([{ marketId: 1, backend: 'groth16', price: '1', provingTime: 60 }]),
    },
    required: 'key-file',
    malformed: ['--capacity', 'many'],
  },
  {
    name: 'matcher',
    cli: matcherCli as unknown as ServiceCli,
    env: {
      MATCHER_RPC_URL: 'http://127.0.0.1:1',
      MATCHER_CHAIN_ID: '31337',
      MATCHER_KEY_FILE: '/tmp/cairn-cli-daemons.matcher.json',
      MATCHER_SUBMITTER_PRIVATE_KEY: `0x${'11'.repeat(32)}`,
    },
    required: 'submitter-private-key',
    malformed: ['--rpc-url', 'not a url'],
  },
  {
    name: 'relayer',
    cli: relayerCli as unknown as ServiceCli,
    env: {
      RELAYER_ETHEREUM_RPC_URL: 'http://127.0.0.1:1',
      RELAYER_MARKETPLACE_RPC_URL: 'http://127.0.0.1:2',
      RELAYER_ETHEREUM_DEPLOYMENT: 'deployments/1.restaking.json',
      RELAYER_MARKETPLACE_DEPLOYMENT: 'deployments/2.restaking.json',
      RELAYER_PRIVATE_KEY: `0x${'11'.repeat(32)}`,
      RELAYER_OPERATOR_PRIVATE_KEY: `0x${'22'.repeat(32)}`,
    },
    required: 'operator-private-key',
    malformed: ['--epoch-length', '0'],
  },
]

/** Every variable of every daemon unset, so the machine's own environment cannot fill in a flag a case leaves out. */
const unset = Object.fromEntries(
  daemons.flatMap(({ cli }) => Object.keys(cli.flags).map((flag) => [envVariable(cli, flag), ''])),
)

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at |node:internal|\^\n/)

describe.each(daemons)('cairn $name run', ({ name, cli, env, required, malformed }) => {
  it('answers --help with every flag, its environment variable and whether it is required or its default', async () => {
    const help = await startCairn([name, 'run', '--help'], unset).done
    expect(help.code).toBe(0)
    expect(help.stdout).toContain(`usage: cairn ${name} run [flags]`)
    for (const [flag, spec] of Object.entries(cli.flags)) {
      const line = help.stdout.split('\n').find((row) => row.trimStart().startsWith(`--${flag} `))
      expect(line, `--${flag}`).toBeDefined()
      expect(line).toContain(envVariable(cli, flag))
      expect(line).toContain(spec.help)
    }
    expect(help.stdout).toMatch(/--log-level <level>\s+\w+_LOG_LEVEL\s+log verbosity \(one of: .*; default info\)/)
    expect(help.stdout).toMatch(new RegExp(`--${required} \\S+\\s+\\w+\\s+.*\\(required\\)`))
  })

  it('names a missing required flag and its variable in one line, exit 2, no stack', async () => {
    const variable = envVariable(cli, required)
    const missing = await startCairn([name, 'run'], { ...unset, ...env, [variable]: '' }).done
    expect(missing.code).toBe(2)
    expect(missing.stderr.trim().split('\n')).toEqual([
      `error: --${required} (or ${variable}) is required: ${cli.flags[required]?.help}; see \`cairn ${name} run --help\``,
    ])
    noStack(missing.stderr)
  })

  it('names a malformed flag and an unknown one (the same lines the daemon prints before exiting 2)', () => {
    const [flag, value] = malformed as [string, string]
    const bad = problemsOf(cli, [flag, value], { ...unset, ...env })
    expect(bad).toHaveLength(1)
    expect(bad[0]).toMatch(
      new RegExp(`^${flag} \\(or ${envVariable(cli, flag.slice(2))}\\): .+; see \`cairn ${name} run --help\`$`),
    )
    expect(problemsOf(cli, ['--colour', 'blue'], { ...unset, ...env })).toEqual([
      `unknown flag --colour; see \`cairn ${name} run --help\``,
    ])
    expect(problemsOf(cli, [flag], { ...unset, ...env })).toEqual([
      `${flag} needs a value; see \`cairn ${name} run --help\``,
    ])
  })
})

/** The ConfigError lines of a command line, which configFromCommandLine prints as `error: <line>` and exits 2. */
function problemsOf(cli: ServiceCli, argv: string[], env: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadServiceConfig(cli, argv, env)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  throw new Error(`${argv.join(' ')} was accepted`)
}

describe('cairn prover run --markets', () => {
  it('names the flag when its JSON or its file is broken, or an entry breaks a rule', () => {
    const env = { ...unset, ...daemons[0]?.env }
    const [notJson] = problemsOf(proverCli as unknown as ServiceCli, ['--markets', '[{'], env)
    expect(notJson).toMatch(/^--markets \(or PROVER_MARKETS\): not JSON \(.+\); see `cairn prover run --help`$/)
    expect(problemsOf(proverCli as unknown as ServiceCli, ['--markets', '@/nonexistent/markets.json'], env)).toEqual([
      '--markets (or PROVER_MARKETS): cannot read /nonexistent/markets.json (ENOENT); see `cairn prover run --help`',
    ])
    const entry = { marketId: 1, backend: 'groth16', price: '1', provingTime: 60, computePerRequest: 2 }
    expect(
      problemsOf(proverCli as unknown as ServiceCli, ['--capacity', '1', '--markets', JSON.stringify([entry])], env),
    ).toEqual([
      '--markets (or PROVER_MARKETS) at 0.computePerRequest: exceeds the capacity 1; see `cairn prover run --help`',
    ])
  })
})
