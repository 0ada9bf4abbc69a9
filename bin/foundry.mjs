#!/usr/bin/env node
// Finds forge, anvil or cast in the @foundry-rs npm packages. The packages' own launchers (node_modules/.bin/forge,
// ...) always exit 0, which would let a failing `forge test` pass CI; this resolves the platform binary directly.
//   node bin/foundry.mjs --path <forge|anvil|cast>   # prints the binary's path (bin/forge, ... exec it)
//   node bin/foundry.mjs <forge|anvil|cast> [args...] # runs it and exits with its status
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const TOOLS = ['forge', 'anvil', 'cast']
const ARCH = { x64: 'amd64', arm64: 'arm64' }

/** Absolute path of a Foundry tool's binary for this platform. */
export const foundryBinary = (tool) => {
  if (!TOOLS.includes(tool)) throw new Error(`unknown Foundry tool '${tool}' (expected ${TOOLS.join(', ')})`)
  const arch = ARCH[process.arch]
  if (!arch) throw new Error(`no Foundry binary for architecture ${process.arch}`)
  const exe = process.platform === 'win32' ? `${tool}.exe` : tool
  return require.resolve(`@foundry-rs/${tool}-${process.platform}-${arch}/bin/${exe}`)
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href
if (isMain && process.argv[2] === '--path') {
  console.log(foundryBinary(process.argv[3]))
} else if (isMain) {
  const [tool, ...args] = process.argv.slice(2)
  const env = { ...process.env }
  delete env.TARGET_TOOL
  const child = spawn(foundryBinary(tool), args, { stdio: 'inherit', env })
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)))
}
