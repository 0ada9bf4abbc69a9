import type { IncomingMessage } from 'node:http'
import type { Logger } from 'pino'
import { MAX_ORDER_BYTES, type OrderBody, type OrderStatus, parseOrderBody } from '../../ts/orders.js'
import type { Reply, Route } from '../../ts/service/http.js'
import type { OrderFailure } from './order-checks.js'
import { rejection } from './order-stream.js'

/*
 * POST /orders and GET /orders/<id> (wire format: ts/orders.ts). The body is read bounded: at most MAX_ORDER_BYTES
 * (413 OrderTooLarge as soon as one more byte arrives, the rest never read) within ORDER_BODY_TIMEOUT_MS (408
 * OrderTimeout: a slow sender holds no more than that). A body that is not JSON or not an order is 400 MalformedOrder
 * naming the field. Whatever fails unexpectedly is logged and answered 503 NotReady, never 500.
 */

export const ORDER_BODY_TIMEOUT_MS = 10_000

type Body = { text: string } | { failure: OrderFailure }

/** Reads a request body of at most `maxBytes` within `timeoutMs`; stops reading at the first byte too many. */
export function readBoundedBody(
  request: IncomingMessage,
  maxBytes: number = MAX_ORDER_BYTES,
  timeoutMs: number = ORDER_BODY_TIMEOUT_MS,
): Promise<Body> {
  const declared = Number(request.headers['content-length'] ?? Number.NaN)
  const tooLarge: Body = {
    failure: {
      status: 413,
      code: 'OrderTooLarge',
      message: `the body exceeds ${maxBytes} bytes: put large inputs behind a URI`,
      details: { maxBytes: String(maxBytes) },
    },
  }
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.resolve(tooLarge)
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let length = 0
    let settled = false
    const finish = (body: Body, stop: boolean) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      request.off('data', onData)
      if (stop) request.pause()
      resolve(body)
    }
    const onData = (chunk: Buffer) => {
      length += chunk.length
      if (length > maxBytes) return finish(tooLarge, true)
      chunks.push(chunk)
    }
    const timer = setTimeout(
      () =>
        finish(
          {
            failure: {
              status: 408,
              code: 'OrderTimeout',
              message: `the body did not arrive within ${timeoutMs} ms: send it at once`,
            },
          },
          true,
        ),
      timeoutMs,
    )
    request.on('data', onData)
    request.once('end', () => finish({ text: Buffer.concat(chunks).toString('utf8') }, false))
    request.once('error', () =>
      finish({ failure: { status: 400, code: 'MalformedOrder', message: 'the body could not be read' } }, true),
    )
  })
}

/** The body parsed as an order, or MalformedOrder naming the first field that is wrong. */
export function parseOrderText(text: string): OrderBody | OrderFailure {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return {
      status: 400,
      code: 'MalformedOrder',
      message: 'the body is not JSON: send {"request": …, "signature": "0x…"}',
    }
  }
  const parsed = parseOrderBody(json)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  const field = issue === undefined || issue.path.length === 0 ? 'body' : issue.path.join('.')
  return {
    status: 400,
    code: 'MalformedOrder',
    message: `${field}: ${issue?.message ?? 'malformed'}`,
    details: { field },
  }
}

export function orderRoutes(params: {
  accept: (order: OrderBody) => Promise<Reply>
  status: (requestId: bigint) => Promise<OrderStatus | undefined>
  log: Logger
}): Route[] {
  const { log } = params
  const unexpected = (error: unknown): Reply => {
    log.error({ err: error }, 'order route failed')
    return rejection({ status: 503, code: 'NotReady', message: 'the matcher failed to handle the order: retry' })
  }
  return [
    {
      method: 'POST',
      path: '/orders',
      handler: async (request) => {
        try {
          const body = await readBoundedBody(request)
          if ('failure' in body) return rejection(body.failure)
          const order = parseOrderText(body.text)
          if ('code' in order) return rejection(order)
          return await params.accept(order)
        } catch (error) {
          return unexpected(error)
        }
      },
    },
    {
      method: 'GET',
      path: /^\/orders\/(\d{1,78})$/,
      handler: async (_request, [id]) => {
        try {
          const requestId = BigInt(id ?? '')
          const status = await params.status(requestId)
          if (status !== undefined) return { status: 200, body: status }
          return rejection({
            status: 404,
            code: 'UnknownOrder',
            message: `no order ${requestId} at this matcher: not acknowledged here, or forgotten long after it ended`,
          })
        } catch (error) {
          return unexpected(error)
        }
      },
    },
  ]
}
