import { constants } from 'node:fs'
import { open, rename } from 'node:fs/promises'
import { dirname } from 'node:path'
import { type Address, getAddress, type Hex, isAddress, isHex } from 'viem'
import { encodeOrder, type OrderBody, parseOrderBody } from '../../ts/orders.js'
import { readTextIfExists } from '../../ts/text-file.js'
import type { FastKind } from './fast-policy.js'

/*
 * The order stream's journal: an append-only file of JSON lines, one per acknowledged order and one per order that
 * ended (used on chain, expired, dropped). An order is acknowledged only once its line is written and fsync'd (the
 * file, and its directory when the file was created), so an acknowledged order survives a kill -9. Writes are
 * serialised and grouped: lines queued while a write is under way go out together in the next one (one fsync).
 *
 * Fast assignments (fast-lane.ts) are journalled the same way before a prover can read them: an `offer` line when one
 * is made, a `lapse` line when its window passed unused (the prover is then never given that order again); an order's
 * end line ends its offer too. So a restart serves the same offers and gives no order to a second prover meanwhile.
 * Offers of on-chain requests (`fastKind: "open"`, fulfilOpen) share these lines; they have no order line and no end
 * line: the chain says when they end (the rebuilt book no longer holds the request Open), so replay keeps the last
 * one of each request and the fast lane checks it against the book. A line without `fastKind` (journals written
 * before on-chain offers) is a signed order's.
 *
 * Replay reads every line; a torn last line (a kill mid-write) is ignored, as is any line that does not parse. A
 * compaction rewrites the live orders (with their outstanding offers and lapses) into a new file (write, fsync, rename over the journal, fsync the directory):
 * at start, which also cuts a torn tail before anything is appended, and whenever ended entries dominate.
 */

export type OrderRecord = {
  kind: 'order'
  requestId: bigint
  /** Chain time of the matcher's head when it acknowledged the order: its place in the book's serving order. */
  acceptedAt: number
  paymentToken: Address
  /** The requester had code at intake: an ERC-1271 wallet, whose answer may change. */
  wallet: boolean
  order: OrderBody
}
export type EndRecord = { kind: 'end'; requestId: bigint; state: 'used' | 'expired' | 'dropped'; reason?: string }
/** A batch a requester's wallet made fail: strikes outlive a restart, so a blocked wallet stays blocked. */
export type StrikeRecord = { kind: 'strike'; requester: Address }
/** A fast assignment made (FastOffer in fast-offers.ts): written before any prover can read it. */
export type OfferRecord = {
  kind: 'offer'
  requestId: bigint
  fastKind: FastKind
  prover: Address
  price: bigint
  validUntil: number
  compute: number
  matcherSignature: Hex
  madeAt: number
}
/** A fast assignment whose window passed unused: its request goes on chain, never to this prover again. */
export type LapseRecord = { kind: 'lapse'; requestId: bigint; prover: Address; fastKind: FastKind }
export type JournalRecord = OrderRecord | EndRecord | StrikeRecord | OfferRecord | LapseRecord

/** The file system as the journal uses it: real in the service, a double in tests. */
export type JournalFs = {
  /** The file's text; undefined when it does not exist. */
  read: (path: string) => Promise<string | undefined>
  /** Appends and fsyncs (and fsyncs the directory when this created the file). */
  append: (path: string, text: string) => Promise<void>
  /** Replaces the file atomically: a temporary file written and fsync'd, renamed over it, the directory fsync'd. */
  replace: (path: string, text: string) => Promise<void>
}

async function syncDirectory(path: string): Promise<void> {
  const directory = await open(dirname(path), constants.O_RDONLY)
  try {
    await directory.sync()
  } finally {
    await directory.close()
  }
}

export const nodeJournalFs: JournalFs = {
  read: readTextIfExists,
  async append(path, text) {
    let created = false
    let handle = await open(path, constants.O_WRONLY | constants.O_APPEND).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error
      return undefined
    })
    if (handle === undefined) {
      handle = await open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600)
      created = true
    }
    try {
      await handle.write(text)
      await handle.sync()
    } finally {
      await handle.close()
    }
    if (created) await syncDirectory(path)
  },
  async replace(path, text) {
    const temporary = `${path}.tmp`
    const handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600)
    try {
      await handle.write(text)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temporary, path)
    await syncDirectory(path)
  },
}

export function encodeRecord(record: JournalRecord): string {
  if (record.kind === 'offer') {
    const { requestId, price } = record
    return `${JSON.stringify({ ...record, requestId: requestId.toString(), price: price.toString() })}\n`
  }
  if (record.kind === 'lapse') {
    const { requestId, prover, fastKind } = record
    return `${JSON.stringify({ kind: 'lapse', requestId: requestId.toString(), prover, fastKind })}\n`
  }
  if (record.kind === 'strike') return `${JSON.stringify({ kind: 'strike', requester: record.requester })}\n`
  if (record.kind === 'end') {
    const { requestId, state, reason } = record
    return `${JSON.stringify({ kind: 'end', requestId: requestId.toString(), state, ...(reason === undefined ? {} : { reason }) })}\n`
  }
  const { requestId, acceptedAt, paymentToken, wallet, order } = record
  return `${JSON.stringify({
    kind: 'order',
    requestId: requestId.toString(),
    acceptedAt,
    paymentToken,
    wallet,
    order: JSON.parse(encodeOrder(order)),
  })}\n`
}

/** One line back to a record; undefined for a line that does not parse (a torn write, or not ours). */
export function decodeRecord(line: string): JournalRecord | undefined {
  let value: Record<string, unknown>
  try {
    value = JSON.parse(line) as Record<string, unknown>
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  if (value.kind === 'strike') {
    const requester = value.requester
    return typeof requester === 'string' && isAddress(requester, { strict: false })
      ? { kind: 'strike', requester: getAddress(requester) }
      : undefined
  }
  if (typeof value.requestId !== 'string') return undefined
  if (!/^[0-9]{1,78}$/.test(value.requestId)) return undefined
  const requestId = BigInt(value.requestId)
  if (value.kind === 'offer') return decodeOffer(requestId, value)
  if (value.kind === 'lapse') {
    const fastKind = fastKindOfLine(value.fastKind)
    if (!isAddressText(value.prover) || fastKind === undefined) return undefined
    return { kind: 'lapse', requestId, prover: getAddress(value.prover), fastKind }
  }
  if (value.kind === 'end') {
    const state = value.state
    if (state !== 'used' && state !== 'expired' && state !== 'dropped') return undefined
    const reason = typeof value.reason === 'string' ? value.reason : undefined
    return reason === undefined ? { kind: 'end', requestId, state } : { kind: 'end', requestId, state, reason }
  }
  if (value.kind !== 'order' || typeof value.acceptedAt !== 'number' || typeof value.paymentToken !== 'string') {
    return undefined
  }
  const parsed = parseOrderBody(value.order)
  if (!parsed.success) return undefined
  return {
    kind: 'order',
    requestId,
    acceptedAt: value.acceptedAt,
    paymentToken: value.paymentToken as Address,
    wallet: value.wallet === true,
    order: parsed.data,
  }
}

const isAddressText = (value: unknown): value is string =>
  typeof value === 'string' && isAddress(value, { strict: false })
/** A line's fastKind: absent in journals written before on-chain offers, whose offers were all signed orders'. */
const fastKindOfLine = (value: unknown): FastKind | undefined =>
  value === undefined || value === 'signed' ? 'signed' : value === 'open' ? 'open' : undefined
const isSeconds = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0

function decodeOffer(requestId: bigint, value: Record<string, unknown>): OfferRecord | undefined {
  const { prover, price, validUntil, compute, matcherSignature, madeAt } = value
  const fastKind = fastKindOfLine(value.fastKind)
  if (fastKind === undefined) return undefined
  if (!isAddressText(prover) || typeof price !== 'string' || !/^[0-9]{1,29}$/.test(price)) return undefined
  if (!isSeconds(validUntil) || !isSeconds(compute) || !isSeconds(madeAt)) return undefined
  if (typeof matcherSignature !== 'string' || !isHex(matcherSignature, { strict: true })) return undefined
  return {
    kind: 'offer',
    requestId,
    fastKind,
    prover: getAddress(prover),
    price: BigInt(price),
    validUntil,
    compute,
    matcherSignature,
    madeAt,
  }
}

export type Replayed = {
  /** Orders without an end record, in the order they were acknowledged. */
  live: OrderRecord[]
  /** Orders that ended, with how. */
  ended: EndRecord[]
  /** Lines that did not parse (a torn last line counts here). */
  unreadable: number
  /** Every strike recorded, one entry per failed batch, in order. */
  strikes: StrikeRecord[]
  /**
   * Fast assignments still outstanding when the journal ends (no lapse or end after them): live orders', and on-chain
   * requests' (whether those are still Open is the chain's to say).
   */
  offers: OfferRecord[]
  /** Lapsed fast assignments of live orders and of on-chain requests, in order. */
  lapses: LapseRecord[]
}

/** Folds the journal's text into its live and ended orders. */
export function replayText(text: string): Replayed {
  const orders = new Map<bigint, OrderRecord>()
  const ended = new Map<bigint, EndRecord>()
  const strikes: StrikeRecord[] = []
  const offers = new Map<bigint, OfferRecord>()
  const lapses: LapseRecord[] = []
  let unreadable = 0
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const record = decodeRecord(line)
    if (record === undefined) unreadable++
    else if (record.kind === 'strike') strikes.push(record)
    else if (record.kind === 'offer') offers.set(record.requestId, record)
    else if (record.kind === 'lapse') {
      lapses.push(record)
      if (offers.get(record.requestId)?.prover === record.prover) offers.delete(record.requestId)
    } else if (record.kind === 'order') {
      if (!orders.has(record.requestId)) orders.set(record.requestId, record)
    } else ended.set(record.requestId, record)
  }
  const live = [...orders.values()].filter((record) => !ended.has(record.requestId))
  const isLive = (requestId: bigint) => orders.has(requestId) && !ended.has(requestId)
  const kept = (record: OfferRecord | LapseRecord) => record.fastKind === 'open' || isLive(record.requestId)
  return {
    live,
    ended: [...ended.values()].filter((end) => orders.has(end.requestId)),
    unreadable,
    strikes,
    offers: [...offers.values()].filter(kept),
    lapses: lapses.filter(kept),
  }
}

export type Journal = {
  /** Resolves once the record is on disk (written and fsync'd). */
  append: (record: JournalRecord) => Promise<void>
  replay: () => Promise<Replayed>
  /** Rewrites the journal with these records only (the live orders); appends queued before run first. */
  compact: (records: () => JournalRecord[]) => Promise<void>
  /** Lines in the file and how many of them are live orders: compact when ended ones dominate. */
  readonly lines: number
}

/** When a runtime compaction pays: at least this many lines, and more ended ones than live. */
export const COMPACT_MIN_LINES = 256

export function shouldCompact(lines: number, live: number): boolean {
  return lines >= COMPACT_MIN_LINES && lines - live > live
}

export function createJournal(path: string, fs: JournalFs = nodeJournalFs): Journal {
  let queued: { text: string; done: () => void; failed: (error: unknown) => void }[] = []
  let tail: Promise<void> = Promise.resolve()
  let lines = 0
  const run = (step: () => Promise<void>): Promise<void> => {
    const next = tail.then(step)
    tail = next.catch(() => undefined)
    return next
  }
  const flush = async () => {
    if (queued.length === 0) return
    const group = queued
    queued = []
    try {
      await fs.append(path, group.map(({ text }) => text).join(''))
      lines += group.length
      for (const entry of group) entry.done()
    } catch (error) {
      for (const entry of group) entry.failed(error)
    }
  }
  return {
    append(record) {
      const written = new Promise<void>((done, failed) => queued.push({ text: encodeRecord(record), done, failed }))
      void run(flush)
      return written
    },
    async replay() {
      const text = await fs.read(path)
      const replayed = replayText(text ?? '')
      lines = text === undefined ? 0 : text.split('\n').filter((line) => line.trim() !== '').length
      return replayed
    },
    compact(records) {
      return run(async () => {
        const kept = records()
        await fs.replace(path, kept.map(encodeRecord).join(''))
        lines = kept.length
      })
    },
    get lines() {
      return lines
    },
  }
}
