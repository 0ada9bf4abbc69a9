import { DEFAULT_MAX_INPUT_BYTES } from '../ts/input-uris.js'
import { serveLocally } from './local-server.js'

export type NeverLoadingInputs = {
  /** An http: URI serving the bytes themselves: a request behind it loads. */
  loads: string
  /** URIs whose bytes never load as the ones given, in this order, each with the reason a reader skips it for. */
  neverLoad: readonly { reason: 'UnsupportedUri' | 'DigestMismatch' | 'TooLarge'; uri: string }[]
  close: () => void
}

/**
 * A local HTTP server for a request's public inputs `bytes`, and the URIs that can never load them: a scheme no
 * reader supports, other bytes inline and over http:, and more bytes than the default limit.
 */
export async function serveNeverLoadingInputs(bytes: Uint8Array): Promise<NeverLoadingInputs> {
  // Over the default limit (the matcher's and the prover runner's), streamed without a content-length: only the
  // bounded read stops it.
  const oversized = DEFAULT_MAX_INPUT_BYTES + 1
  const server = await serveLocally((request, response) => {
    if (request.url === '/inputs') return void response.end(bytes)
    if (request.url === '/other') return void response.end('other bytes')
    if (request.url !== '/oversized') return void response.writeHead(404).end()
    const chunk = new Uint8Array(1 << 20)
    let left = oversized
    const write = () => {
      while (left > 0) {
        const part = chunk.subarray(0, Math.min(chunk.length, left))
        left -= part.length
        if (!response.write(part)) return void response.once('drain', write)
      }
      response.end()
    }
    write()
  })
  const { base } = server
  return {
    loads: `${base}/inputs`,
    neverLoad: [
      { reason: 'UnsupportedUri', uri: 'ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi' },
      {
        reason: 'DigestMismatch',
        uri: `data:application/octet-stream;base64,${Buffer.from('other bytes').toString('base64')}`,
      },
      { reason: 'DigestMismatch', uri: `${base}/other` },
      { reason: 'TooLarge', uri: `${base}/oversized` },
    ],
    close: server.close,
  }
}
