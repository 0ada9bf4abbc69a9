import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InputUriError, type InputUriOptions, readInputUri } from '../ts/input-uris.js'
import { useHostileFiles } from './hostile-files.js'
import { type LocalServer, serveLocally } from './local-server.js'

// The one reader of inputs URIs the matcher and the prover share: every scheme bounded in size and time, file: only
// when enabled and only for regular files, and each failure says whether trying again can help.

const limits: InputUriOptions = { maxBytes: 1_024, timeoutMs: 2_000, allowFileUris: true }

/** The reader's failure for `uri`, checked to be an InputUriError. */
async function failure(uri: string, options: InputUriOptions = limits): Promise<InputUriError> {
  const error = await readInputUri(uri, options).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(InputUriError)
  return error as InputUriError
}

describe('inputs URI reader: file:', () => {
  const hostileFiles = useHostileFiles('cairn-input-uris-')

  it('reads a regular file within the limit, byte for byte', async () => {
    const { directory } = hostileFiles()
    const path = join(directory, 'inputs.bin')
    const bytes = new Uint8Array(1_024).map((_, i) => i & 0xff)
    await writeFile(path, bytes)
    const read = await readInputUri(pathToFileURL(path).href, limits)
    expect(read).toEqual(bytes)
    expect(read.constructor).toBe(Uint8Array)
  })

  it('refuses devices, FIFOs and directories, without opening them for a blocking read', async () => {
    const { directory, fifo } = hostileFiles()
    for (const path of ['/dev/zero', '/dev/urandom', fifo, directory]) {
      const error = await failure(pathToFileURL(path).href)
      expect(error).toMatchObject({ reason: 'NotARegularFile', permanent: true })
      expect(error.message).toContain(pathToFileURL(path).href)
    }
  })

  it('reads at most the limit and one byte more, whatever the file claims its size is', async () => {
    const { directory } = hostileFiles()
    const path = join(directory, 'large.bin')
    await writeFile(path, new Uint8Array(1_025))
    const large = await failure(pathToFileURL(path).href)
    expect(large).toMatchObject({ reason: 'TooLarge', permanent: true })
    expect(large.message).toMatch(/over the 1024-byte limit/)
    // procfs files are regular files of size 0 that still hold bytes.
    const proc = await failure('file:///proc/self/maps', { ...limits, maxBytes: 16 })
    expect(proc).toMatchObject({ reason: 'TooLarge', permanent: true })
  })

  it('refuses file: URIs unless enabled, naming the flag; a missing file may still appear', async () => {
    const { directory } = hostileFiles()
    const disabled = await failure(pathToFileURL(join(directory, 'inputs.bin')).href, {
      ...limits,
      allowFileUris: false,
    })
    expect(disabled).toMatchObject({ reason: 'FileUrisDisabled', permanent: true })
    expect(disabled.message).toMatch(/--allow-file-uris/)
    const missing = await failure(pathToFileURL(join(directory, 'not-yet-written.bin')).href)
    expect(missing).toMatchObject({ reason: 'Unavailable', permanent: false })
  })
})

describe('inputs URI reader: http(s): and data:', () => {
  let server: LocalServer
  let base: string
  const body = new Uint8Array(512).fill(7)

  beforeAll(async () => {
    server = await serveLocally((request, response) => {
      if (request.url === '/inputs') return void response.end(body)
      if (request.url === '/endless') {
        // No content-length, and bytes for as long as anyone reads.
        response.writeHead(200)
        const chunk = new Uint8Array(256)
        const more = (): void => {
          let open = true
          while (open) open = response.write(chunk)
        }
        response.on('drain', more)
        return more()
      }
      if (request.url === '/silent') return // never answers
      response.writeHead(404).end()
    })
    base = server.base
  })

  afterAll(() => server.close())

  it('reads a body within the limit', async () => {
    expect(await readInputUri(`${base}/inputs`, limits)).toEqual(body)
  })

  it('stops an endless body at the limit, and a silent server at the timeout', async () => {
    const endless = await failure(`${base}/endless`)
    expect(endless).toMatchObject({ reason: 'TooLarge', permanent: true })
    const started = performance.now()
    const silent = await failure(`${base}/silent`, { ...limits, timeoutMs: 200 })
    expect(silent).toMatchObject({ reason: 'TimedOut', permanent: false })
    expect(silent.message).toMatch(/within 200 ms/)
    expect(performance.now() - started).toBeLessThan(2_000)
  })

  it('treats an HTTP error as something to retry', async () => {
    expect(await failure(`${base}/missing`)).toMatchObject({ reason: 'Unavailable', permanent: false })
  })

  it('bounds data: URIs the same way, and fails them for good: their bytes cannot change', async () => {
    const data = (bytes: Uint8Array) => `data:application/octet-stream;base64,${Buffer.from(bytes).toString('base64')}`
    expect(await readInputUri(data(body), limits)).toEqual(body)
    const large = await failure(data(new Uint8Array(1_025)))
    expect(large).toMatchObject({ reason: 'TooLarge', permanent: true })
    // Shortened in the message: a data: URI can be megabytes long.
    expect(large.message.length).toBeLessThan(200)
  })

  it('refuses other schemes and non-URIs for good', async () => {
    for (const uri of ['ipfs://bafy', 'ftp://example.com/inputs', 'not a uri']) {
      expect(await failure(uri)).toMatchObject({ reason: 'UnsupportedUri', permanent: true })
    }
  })
})
