// The explorer (explorer/src/main.ts) as one more devnet service: started as an operator starts `cairn explorer`,
// on the marketplace chain with the devnet's deployment files, and ready once its index has caught up with the chain.
import { join } from 'node:path'
import { freePort } from './anvil.js'
import type { LaunchOptions } from './launch.js'
import type { Network } from './network.js'
import { type Service, startService } from './services.js'

/** Starts the explorer on `port` (a free one by default); its pages are at the origin of its health URL. */
export async function startDevExplorer(
  network: Network,
  options: Pick<LaunchOptions, 'logDir' | 'logLevel'> & { port?: number },
): Promise<Service> {
  const port = options.port ?? (await freePort())
  return startService({
    name: 'explorer',
    script: 'explorer/src/main.ts',
    healthUrl: `http://127.0.0.1:${port}/healthz`,
    logFile: join(options.logDir, 'explorer.log'),
    env: {
      EXPLORER_RPC_URL: network.marketplace.anvil.rpcUrl,
      EXPLORER_CHAIN_ID: String(network.marketplace.deployment.chainId),
      EXPLORER_DEPLOYMENT: network.files.marketplace,
      EXPLORER_ATTESTATION_DEPLOYMENT: network.files.marketplaceAttestation,
      EXPLORER_RESTAKING_DEPLOYMENT: network.files.marketplaceRestaking,
      EXPLORER_PORT: String(port),
      EXPLORER_POLL_INTERVAL: '500',
      EXPLORER_LOG_LEVEL: options.logLevel ?? 'info',
    },
  })
}

/** The explorer's address for a browser. */
export function explorerUrlOf(explorer: Pick<Service, 'healthUrl'>): string {
  return new URL(explorer.healthUrl).origin
}
