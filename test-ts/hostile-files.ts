import { execFileSync } from 'node:child_process'
import { closeSync, constants, openSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'

export type HostileFiles = {
  /** A fresh temporary directory, removed after the suite: tests write their regular files here. */
  directory: string
  /** A FIFO in `directory` that nobody writes to: a blocking read of it never returns. */
  fifo: string
}

/**
 * A temporary directory with a FIFO in it for the suite this is called in, for readers that must refuse anything
 * but a regular file. Call inside a test or hook to get them.
 */
export function useHostileFiles(prefix: string): () => HostileFiles {
  let files: HostileFiles | undefined

  beforeAll(async () => {
    const directory = await mkdtemp(join(tmpdir(), prefix))
    const fifo = join(directory, 'inputs.fifo')
    execFileSync('mkfifo', [fifo])
    files = { directory, fifo }
  })
  afterAll(async () => {
    if (!files) return
    // A reader stuck opening the FIFO (a reader that does not refuse it) is let go by a writer opening it.
    try {
      closeSync(openSync(files.fifo, constants.O_WRONLY | constants.O_NONBLOCK))
    } catch {
      // ENXIO: nobody is waiting to read it.
    }
    await rm(files.directory, { recursive: true, force: true })
  })

  return () => {
    if (!files) throw new Error('hostile files not made yet: call inside a test or hook')
    return files
  }
}
