import { describe, expect, it } from 'vitest'
import { loadConfig } from '../enclave/prover/config.js'

const base = {
  PROVER_RPC_URL: 'http://127.0.0.1:8545',
  PROVER_CHAIN_ID: '31337',
  PROVER_PRIVATE_KEY: `0x${'11'.repeat(32)}`,
  PROVER_KEY_FILE: '/tmp/keys.json',
  PROVER_MARKETS: JSON.stringify([{ marketId: 1, backend: 'groth16', price: '1', provingTime: 60 }]),
}

describe('the prover runner’s restaked-stake flags', () => {
  it('reads the Ethereum RPC and the restaking deployment from flags or PROVER_* variables', () => {
    const config = loadConfig(['--restaking-deployment', 'deployments/31338.restaking.json'], {
      ...base,
      PROVER_ETHEREUM_RPC_URL: 'http://127.0.0.1:8546',
    })
    expect(config).toMatchObject({
      ethereumRpcUrl: 'http://127.0.0.1:8546',
      restakingDeployment: 'deployments/31338.restaking.json',
    })
    expect(loadConfig([], base)).not.toHaveProperty('ethereumRpcUrl')
  })

  it('refuses one without the other, naming the one missing', () => {
    expect(() => loadConfig(['--ethereum-rpc-url', 'http://127.0.0.1:8546'], base)).toThrow(/--restaking-deployment/)
    expect(() => loadConfig(['--restaking-deployment', 'deployments/31338.restaking.json'], base)).toThrow(
      /--ethereum-rpc-url/,
    )
  })
})
