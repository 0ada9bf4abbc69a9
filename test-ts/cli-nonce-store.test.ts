import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Address } from 'viem'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { takeCliNonce } from '../ts/cli/kit/nonce-store.js'

const MARKETPLACE: Address = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const REQUESTER: Address = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'

let home: string
let env: NodeJS.ProcessEnv
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'cairn-nonces-'))
  env = { CAIRN_HOME: home }
})
afterEach(async () => rm(home, { recursive: true, force: true }))

const take = () => takeCliNonce(env, 31337, MARKETPLACE, REQUESTER)
const cursorFile = () => join(home, 'nonces', `31337-${MARKETPLACE.toLowerCase()}-${REQUESTER.toLowerCase()}.json`)

describe('the nonces `cairn request` signs with', () => {
  it('count through one word across invocations, so each after the first rewrites a nonce slot in use', async () => {
    const first = await take()
    const second = await take()
    const third = await take()
    expect(second >> 8n).toBe(first >> 8n)
    expect([first & 255n, second & 255n, third & 255n]).toEqual([0n, 1n, 2n])
    // Another requester, chain or marketplace has its own word.
    const other = await takeCliNonce(env, 31337, MARKETPLACE, MARKETPLACE)
    expect(other >> 8n).not.toBe(first >> 8n)
    expect(other & 255n).toBe(0n)
  })

  it('never hands out one nonce twice to invocations at the same time', async () => {
    const nonces = await Promise.all(Array.from({ length: 24 }, () => take()))
    expect(new Set(nonces).size).toBe(24)
    expect(new Set(nonces.map((nonce) => nonce >> 8n)).size).toBe(1)
  })

  it('draws a new word once the 256 of one are taken, and when the cursor file is not its own', async () => {
    const first = await take()
    const word = first >> 8n
    await writeFile(cursorFile(), JSON.stringify({ word: `0x${word.toString(16)}`, next: 256 }))
    const fresh = await take()
    expect(fresh >> 8n).not.toBe(word)
    expect(fresh & 255n).toBe(0n)

    await writeFile(cursorFile(), '{"word": "not a word", "next": 3}')
    const again = await take()
    expect(again & 255n).toBe(0n)
    expect(JSON.parse(await readFile(cursorFile(), 'utf8'))).toEqual({
      word: `0x${(again >> 8n).toString(16)}`,
      next: 1,
    })
  })

  it('waits for a live lock and takes over one a crashed invocation left', async () => {
    await take()
    const lock = `${cursorFile()}.lock`
    await writeFile(lock, '999999')
    const waiting = take()
    let settled = false
    void waiting.then(() => {
      settled = true
    })
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(settled).toBe(false)
    // The holder crashed: its lock file ages past the limit and is taken over.
    const old = new Date(Date.now() - 60_000)
    await utimes(lock, old, old)
    expect((await waiting) & 255n).toBe(1n)
  })
})
