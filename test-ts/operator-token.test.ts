import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadOperatorToken } from '../enclave/prover/operator-token.js'

describe('prover operator token file', () => {
  let directory: string
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'cairn-operator-token-'))
  })
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true })
  })

  it('creates its directory and a 0600 file at the first start, then reuses the token', async () => {
    const path = join(directory, 'state', 'not-yet-created', 'prover.operator-token')
    const token = await loadOperatorToken(path)
    expect(token).toMatch(/^[0-9a-f]{64}$/)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect(await loadOperatorToken(path)).toBe(token)
  })

  it('two starts at once end up with the same token', async () => {
    const path = join(directory, 'racing', 'prover.operator-token')
    const [first, second] = await Promise.all([loadOperatorToken(path), loadOperatorToken(path)])
    expect(first).toBe(second)
  })

  it('refuses a token too short to be a credential, naming the file', async () => {
    const path = join(directory, 'short.operator-token')
    await writeFile(path, 'abc\n')
    await expect(loadOperatorToken(path)).rejects.toThrow(`the operator token in ${path} is shorter than 32 characters`)
  })
})
