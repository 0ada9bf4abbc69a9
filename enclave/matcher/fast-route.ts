import type { Logger } from 'pino'
import { type Address, getAddress, isAddress } from 'viem'
import { encodeFastAssignments, type FastAssignmentOffer, type OpenOffer } from '../../ts/fast-assignments.js'
import type { Reply, Route } from '../../ts/service/http.js'

/*
 * GET /provers/<address>/fast-assignments (wire format: ts/fast-assignments.ts): the prover's outstanding fast
 * assignments, oldest first: of signed orders (`assignments`) and of on-chain requests still Open (`open`); an unknown
 * prover has none (empty lists). A path segment that is no address is 400
 * MalformedAddress; whatever fails unexpectedly is logged and answered 503 NotReady, never 500.
 */

export const FAST_ASSIGNMENTS_ROUTE = /^\/provers\/([^/]*)\/fast-assignments$/

function malformed(text: string): Reply {
  const shown = text.length > 64 ? `${text.slice(0, 64)}…` : text
  return {
    status: 400,
    body: {
      error: {
        code: 'MalformedAddress',
        message: `"${shown}" is not an address: ask for /provers/<0x and 40 hex digits>/fast-assignments`,
      },
    },
  }
}

export function fastAssignmentsRoute(params: {
  offersOf: (prover: Address) => FastAssignmentOffer[]
  /** On-chain requests' offers; none when absent. */
  openOffersOf?: (prover: Address) => OpenOffer[]
  log: Logger
}): Route {
  return {
    method: 'GET',
    path: FAST_ASSIGNMENTS_ROUTE,
    handler: (_request, [segment]) => {
      const text = decodeSegment(segment ?? '')
      if (text === undefined || !isAddress(text, { strict: false })) return malformed(text ?? segment ?? '')
      try {
        const prover = getAddress(text)
        const body = encodeFastAssignments(params.offersOf(prover), params.openOffersOf?.(prover) ?? [])
        return { status: 200, body }
      } catch (error) {
        params.log.error({ err: error, prover: text }, 'fast assignments route failed')
        return {
          status: 503,
          body: { error: { code: 'NotReady', message: 'the matcher failed to list the fast assignments: retry' } },
        }
      }
    },
  }
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}
