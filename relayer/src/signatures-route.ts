/**
 * GET /signatures/<digest> on the relayer's HTTP server: its signature of a digest, for peers gathering a quorum.
 * Peers reach it over the network, so anything else they send gets a status, never an exception (ts/service/http.ts).
 */
import type { Route } from '../../ts/service/http.js'
import type { SignatureStore } from './signatures.js'

export function signaturesRoute(signatures: SignatureStore): Route {
  return {
    method: 'GET',
    path: /^\/signatures\/(0x[0-9a-fA-F]{64})$/,
    handler: (_request, [digest]) => {
      const signed = digest ? signatures.get(digest) : undefined
      return signed ? { status: 200, body: signed } : { status: 404, body: { error: 'not signed' } }
    },
  }
}
