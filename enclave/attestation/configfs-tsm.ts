import { randomUUID } from 'node:crypto'
import * as nodeFs from 'node:fs/promises'
import { join } from 'node:path'
import {
  type AttestationProvider,
  assertReportData,
  ConfigfsTsmUnavailableError,
  EmptyQuoteError,
  GenerationMismatchError,
  UnsupportedTsmProviderError,
} from './provider.js'

/**
 * Quotes from the Linux configfs-tsm report interface (Linux ≥ 6.7, `drivers/virt/coco/tsm.c`): in a TDX guest
 * the kernel turns an `inblob` write into a TDREPORT and the `outblob` read into a DCAP quote via the host's QE.
 * Only runs inside a TD; everywhere else it throws ConfigfsTsmUnavailableError. Tests drive it through `fs`.
 */

/** The file operations the protocol uses; node:fs/promises satisfies it. */
export type TsmFs = {
  mkdir(path: string): Promise<unknown>
  rmdir(path: string): Promise<unknown>
  readFile(path: string): Promise<Uint8Array>
  writeFile(path: string, data: Uint8Array): Promise<unknown>
}

export type ConfigfsTsmOptions = {
  root?: string
  fs?: TsmFs
  /** Attempts when another writer bumps `generation` under us. */
  attempts?: number
  /** The `provider` attribute we accept; TDX guests report `tdx_guest`. */
  expectedProvider?: string
  /** Entry name; must be unique among concurrent users of the interface. */
  entryName?: () => string
}

/** A quote, or the generation seen instead of the expected one (another writer interfered). */
type Exchange = { quote: Uint8Array } | { expected: number; actual: number }

export const DEFAULT_TSM_ROOT = '/sys/kernel/config/tsm/report'

const readText = async (fs: TsmFs, path: string): Promise<string> =>
  new TextDecoder().decode(await fs.readFile(path)).trim()

const readGeneration = async (fs: TsmFs, entry: string): Promise<number> => {
  const text = await readText(fs, join(entry, 'generation'))
  const value = Number(text)
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) throw new Error(`bad configfs-tsm generation '${text}'`)
  return value
}

const errorCode = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined

export const createConfigfsTsmProvider = (options: ConfigfsTsmOptions = {}): AttestationProvider => {
  const root = options.root ?? DEFAULT_TSM_ROOT
  const fs = options.fs ?? nodeFs
  const attempts = options.attempts ?? 3
  const expectedProvider = options.expectedProvider ?? 'tdx_guest'
  const entryName = options.entryName ?? (() => `cairn-${process.pid}-${randomUUID()}`)

  /** The protocol inside one report entry: provider check, generation, inblob write, outblob read, generation. */
  const exchange = async (entry: string, reportData: Uint8Array): Promise<Exchange> => {
    const provider = await readText(fs, join(entry, 'provider'))
    if (provider !== expectedProvider) throw new UnsupportedTsmProviderError(provider, expectedProvider)
    const start = await readGeneration(fs, entry)
    await fs.writeFile(join(entry, 'inblob'), reportData)
    const quote = await fs.readFile(join(entry, 'outblob'))
    // Each inblob write bumps generation once: anything else means the outblob may belong to another write.
    const end = await readGeneration(fs, entry)
    if (end !== start + 1) return { expected: start + 1, actual: end }
    if (quote.length === 0) throw new EmptyQuoteError()
    return { quote: new Uint8Array(quote) }
  }

  /** One mkdir … rmdir round; returns the quote or the generation actually seen. */
  const attempt = async (reportData: Uint8Array): Promise<Exchange> => {
    const entry = join(root, entryName())
    try {
      await fs.mkdir(entry)
    } catch (error) {
      // ENOENT: no tsm/report directory; EACCES/EPERM: not root; EOPNOTSUPP/ENXIO: no TSM provider registered.
      if (['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM', 'EOPNOTSUPP', 'ENXIO', 'ENODEV'].includes(errorCode(error) ?? '')) {
        throw new ConfigfsTsmUnavailableError(root, { cause: error })
      }
      throw error
    }
    let outcome: Exchange
    try {
      outcome = await exchange(entry, reportData)
    } catch (error) {
      // Entries hold kernel memory until removed: remove on failure too, without masking the original error.
      await fs.rmdir(entry).catch(() => {})
      throw error
    }
    await fs.rmdir(entry)
    return outcome
  }

  return {
    name: 'configfs-tsm',
    async getQuote(reportData) {
      assertReportData(reportData)
      let last = { expected: 0, actual: 0 }
      for (let i = 0; i < attempts; i++) {
        const result = await attempt(reportData)
        if ('quote' in result) return result.quote
        last = result
      }
      throw new GenerationMismatchError(last.expected, last.actual, attempts)
    },
  }
}
