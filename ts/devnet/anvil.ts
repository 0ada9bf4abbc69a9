import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { anvilBin, toolEnv } from './paths.js'

export type Anvil = {
  port: number
  rpcUrl: string
  process: ChildProcess
  /** Terminates anvil and resolves once it has exited; idempotent. */
  stop: () => Promise<void>
}

export type AnvilOptions = {
  /** Defaults to a free port chosen by the OS. */
  port?: number
  /** Seconds per block; omitted means automine (a block per transaction). */
  blockTime?: number
  /** Chain id (anvil's default is 31337); a second devnet chain needs its own. */
  chainId?: number
  /** How long to wait for the RPC to answer. */
  startupTimeoutMs?: number
  /** A state file (anvil_dumpState, decompressed) to start from: a chain restarted where it stood. */
  loadState?: string
}

/** A TCP port that was free a moment ago (anvil binds it right after, so races are unlikely, not impossible). */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  if (typeof address !== 'object' || address === null) throw new Error('could not allocate a port')
  return address.port
}

export async function startAnvil(options: AnvilOptions = {}): Promise<Anvil> {
  const port = options.port ?? (await freePort())
  // A block gas limit far above what any block uses keeps the EIP-1559 base fee from rising: forge prices a whole
  // broadcast up front, and a later transaction priced under a risen base fee would sit in the pool forever.
  const args = ['--port', String(port), '--host', '127.0.0.1', '--silent', '--gas-limit', '1000000000']
  if (options.blockTime !== undefined) args.push('--block-time', String(options.blockTime))
  if (options.chainId !== undefined) args.push('--chain-id', String(options.chainId))
  if (options.loadState !== undefined) args.push('--load-state', options.loadState)
  const child = spawn(anvilBin, args, { env: toolEnv(), stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exited = once(child, 'exit')
  const rpcUrl = `http://127.0.0.1:${port}`
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    await exited
  }
  try {
    await waitForRpc(rpcUrl, child, options.startupTimeoutMs ?? 15_000)
  } catch (error) {
    await stop()
    throw new Error(`anvil did not start on port ${port}: ${(error as Error).message}\n${stderr}`)
  }
  return { port, rpcUrl, process: child, stop }
}

async function waitForRpc(rpcUrl: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`anvil exited with code ${child.exitCode}`)
    if (await answers(rpcUrl)) return
    await sleep(50)
  }
  throw new Error(`no RPC answer within ${timeoutMs} ms`)
}

async function answers(rpcUrl: string): Promise<boolean> {
  try {
    const response = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    })
    return response.ok
  } catch {
    return false
  }
}
