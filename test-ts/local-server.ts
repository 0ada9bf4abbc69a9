import { once } from 'node:events'
import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'

export type LocalServer = {
  /** http://127.0.0.1:<port>, without a trailing slash. */
  base: string
  /** Stops listening and drops every open connection, even one a handler never answers. */
  close: () => void
}

/** An HTTP server on a free loopback port, answering with `handler`; resolves once it listens. */
export async function serveLocally(handler: RequestListener): Promise<LocalServer> {
  const server = createServer(handler)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections()
      server.close()
    },
  }
}
