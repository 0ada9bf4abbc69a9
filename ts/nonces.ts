import { type Address, bytesToBigInt } from 'viem'

/*
 * Nonces for signed requests (Permit2-style bitmap: nonce = word << 8 | bit; spending one sets its bit). Spending the
 * first nonce of a word writes a new storage slot (22,100 gas), every other one rewrites it (5,000): a requester that
 * counts through one word pays 17,100 less per request than one whose every nonce is random. Counting from a shared
 * start ("the lowest unused bit") is not safe: two processes of one requester would hand out the same nonce and one
 * request would fail at use with NonceUsed. So each process draws a random word of its own (248 random bits: two
 * processes collide with probability 2^-124 per pair) and counts through its 256 nonces, then draws another.
 * A process that signs one request and exits would always spend the first nonce of a word: the CLI therefore keeps
 * its cursor on disk (ts/cli/kit/nonce-store.ts) and passes the nonce in.
 */

type Cursor = { word: bigint; next: number }

const cursors = new Map<string, Cursor>()

/** A random 248-bit nonce word. */
function randomWord(): bigint {
  return bytesToBigInt(crypto.getRandomValues(new Uint8Array(31)))
}

/**
 * The next nonce this process hands out for `requester` on `marketplace` (chain and address): the next bit of its
 * current random word.
 */
export function nextNonce(chainId: number, marketplace: Address, requester: Address): bigint {
  const key = `${chainId}:${marketplace.toLowerCase()}:${requester.toLowerCase()}`
  let cursor = cursors.get(key)
  if (cursor === undefined || cursor.next > 255) {
    cursor = { word: randomWord(), next: 0 }
    cursors.set(key, cursor)
  }
  const nonce = (cursor.word << 8n) | BigInt(cursor.next)
  cursor.next += 1
  return nonce
}
