import { once } from 'node:events'
import { connect } from 'node:net'

/**
 * Sends `head` (a request line and headers, as bytes on the wire) to the server at `url` over a plain TCP socket and
 * resolves with the status of its answer. A fetch client cannot send what an attacker can: a request target that is
 * not a URL.
 */
export async function rawStatus(url: string, head: string): Promise<number> {
  const { hostname, port } = new URL(url)
  const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) })
  await once(socket, 'connect')
  socket.end(`${head}\r\nhost: ${hostname}\r\nconnection: close\r\n\r\n`)
  let received = ''
  socket.setEncoding('utf8')
  for await (const chunk of socket) received += chunk
  const status = /^HTTP\/1\.1 (\d{3}) /.exec(received)?.[1]
  if (status === undefined) throw new Error(`no HTTP answer from ${url}: ${JSON.stringify(received.slice(0, 200))}`)
  return Number(status)
}

/** The request line that killed every service: its target parses as no URL. */
export const MALFORMED_REQUEST_LINE = 'GET http://[ HTTP/1.1'
