import { type Logger, pino } from 'pino'
import type { Histogram } from 'prom-client'
import { type Address, type Hex, keccak256, toHex, zeroHash } from 'viem'
import {
  type ChainView,
  emptyView,
  type HeadBlock,
  type MatcherRequest,
  type SyncNotes,
} from '../enclave/matcher/chain.js'
import { addMarket, addRequest, setListing, setProver } from '../enclave/matcher/engine.js'
import { createMetrics, type Metrics } from '../enclave/matcher/metrics.js'
import { inlineInputs } from '../ts/types.js'

// Fakes for the matcher's components without a chain: a log that keeps its lines, metric reads, requests, a view
// with a book, and heads.

export const NOW = 1_800_000_000
export const ETHER = 10n ** 18n
export const MARKET = 1n
export const address = (n: number): Address => `0x${n.toString(16).padStart(40, '0')}`

export type LogLine = { level: number; msg: string } & Record<string, unknown>

/** A pino logger whose JSON lines are kept, in order. */
export function captureLog(): { log: Logger; lines: LogLine[]; messages: () => string[] } {
  const lines: LogLine[] = []
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) })
  return { log, lines, messages: () => lines.map((line) => line.msg) }
}

/** The value of a counter or gauge series; undefined when the series was never set. */
export async function metricValue(
  metrics: Metrics,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const data = await metrics.registry.getSingleMetric(name)?.get()
  const wanted = Object.entries(labels)
  const found = data?.values.find(
    (value) =>
      Object.keys(value.labels).length === wanted.length &&
      wanted.every(([label, expected]) => value.labels[label] === expected),
  )
  return found?.value
}

/** How many observations a histogram holds. */
export async function histogramCount(histogram: Histogram): Promise<number | undefined> {
  const data = await histogram.get()
  return data.values.find((value) => value.metricName?.endsWith('_count'))?.value
}

export { createMetrics }

let nextIndex = 1

/** An open request of MARKET, matchable at NOW by a prover listed at up to 10 ether and 600 s. */
export function matcherRequest(overrides: Partial<MatcherRequest> = {}): MatcherRequest {
  const index = BigInt(nextIndex++)
  const publicInputs: Hex = '0x01'
  return {
    requestId: (MARKET << 64n) | index,
    marketId: MARKET,
    maxReward: 10n * ETHER,
    provingTime: 600,
    createdAt: NOW - 100,
    matchingExpiry: NOW + 300,
    deadline: NOW + 900,
    speedPreferenceBps: 0,
    createdBlockHash: keccak256(toHex(`block ${index}`)),
    hasPrivateInputs: false,
    record: {
      createdAt: NOW - 100,
      inputsDigest: zeroHash,
      matchingExpiry: NOW + 300,
      maxReward: 10n * ETHER,
      provingTime: 600,
      refundAddress: address(0x7e7e),
    },
    requester: address(0x7e7e),
    publicInputs: inlineInputs(publicInputs),
    publicInputsDigest: keccak256(publicInputs),
    privateInputs: { data: '0x', uri: '', digest: zeroHash },
    createdBlock: 1n,
    ...overrides,
  }
}

/** Private inputs behind an inline envelope: the request loads its inputs before it is matched. */
export const privateInputs = { hasPrivateInputs: true, privateInputs: inlineInputs('0xe0') }

export const PROVER = address(0xa1)

/** A view of MARKET (no stake lock) with PROVER listed at 1 ether / 300 s, capacity 8, and `requests` open. */
export function viewWith(requests: readonly MatcherRequest[]): ChainView {
  const view = emptyView()
  addMarket(view.book, { marketId: MARKET, stakePerTask: 0n })
  setProver(view.book, { prover: PROVER, capacity: 8, computeInUse: 0 })
  setListing(view.book, { prover: PROVER, marketId: MARKET, price: ETHER, provingTime: 300, computePerRequest: 1 })
  for (const request of requests) {
    addRequest(view.book, request)
    view.open.set(request.requestId, request)
  }
  return view
}

/** Block `number` at chain time NOW + number (its hash from `fork`, to stand for another chain). */
export function head(number: bigint, fork = ''): HeadBlock {
  return {
    number,
    hash: keccak256(toHex(`${fork}block ${number}`)),
    parentHash: keccak256(toHex(`${fork}block ${number - 1n}`)),
    timestamp: BigInt(NOW) + number,
  }
}

/** What one sync noted: nothing, unless `overrides` says otherwise. */
export function notes(overrides: Partial<SyncNotes> = {}): SyncNotes {
  return {
    from: 0n,
    to: 0n,
    rebuilt: false,
    created: [],
    assigned: [],
    skipped: [],
    matcherKeys: [],
    revokedMatchers: [],
    signedUsed: [],
    noncesInvalidated: [],
    signedFulfilled: [],
    balanceLowered: [],
    openFulfilled: [],
    cancelled: [],
    readError: undefined,
    ...overrides,
  }
}
