import type { Reply, Route } from '../../ts/service/http.js'
import { describeWait, type WaitReason } from './explain.js'

/*
 * GET /requests/<id>: why an open request is not assigned yet (200, the reason's fields with bigints as decimal
 * strings, and a sentence), or 404 when the book does not hold it as open.
 */

export function waitReply(requestId: bigint, reason: WaitReason | undefined, block: bigint | undefined): Reply {
  if (reason === undefined) {
    return {
      status: 404,
      body: {
        error: `request ${requestId} is not open in this matcher's book: not posted (or not indexed yet), assigned, or ended`,
      },
    }
  }
  const fields = Object.entries(reason).map(([name, value]) => [
    name,
    typeof value === 'bigint' ? value.toString() : value,
  ])
  return {
    status: 200,
    body: {
      requestId: requestId.toString(),
      block: block?.toString(),
      reason: Object.fromEntries(fields),
      message: describeWait(reason),
    },
  }
}

export function requestRoute(
  waitReasonOf: (requestId: bigint) => WaitReason | undefined,
  block: () => bigint | undefined,
): Route {
  return {
    method: 'GET',
    path: /^\/requests\/(\d{1,78})$/,
    handler: (_request, [id]) => {
      const requestId = BigInt(id ?? '')
      return waitReply(requestId, waitReasonOf(requestId), block())
    },
  }
}
