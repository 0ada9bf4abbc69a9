/**
 * The proving backends a market entry may name. Everything else is derived from this list: the kinds, the market
 * entry's zod union (and so the config's types) and the loading of a market's backend. A new backend is its own
 * file (kind, schema, loader: see backend.ts) and its entry here; on chain, the market's verifier is an
 * IProofVerifier adapter that accepts what its `prove` outputs.
 */
import { z } from 'zod'
import type { BackendDefinition, BackendForKey, BackendMarket } from './backend.js'
import { groth16Backend } from './groth16.js'
import { noirBackend } from './noir.js'
import { teeWasmBackend } from './tee-wasm.js'

export const proverBackends = [groth16Backend, teeWasmBackend, noirBackend] as const

type ListedBackend = (typeof proverBackends)[number]

/** What a market entry's `backend` may say. */
export type ProverBackendKind = ListedBackend['kind']

/** A market entry of one backend: the offer's fields, `backend: kind` and the backend's own fields. */
type EntrySchema<offer extends z.core.$ZodShape, backend extends ListedBackend> = z.ZodObject<
  offer & { backend: z.ZodLiteral<backend['kind']> } & backend['schema']['shape']
>

/** One entry schema per listed backend, in a tuple (a mapped type keeps a tuple only over a type parameter). */
type EntrySchemas<offer extends z.core.$ZodShape, list extends readonly ListedBackend[]> = {
  -readonly [i in keyof list]: list[i] extends ListedBackend ? EntrySchema<offer, list[i]> : never
}

/** The market entry: the offer's fields and one backend's, told apart by `backend`. */
export function marketEntrySchema<offer extends z.core.$ZodShape>(offer: offer) {
  const entries = proverBackends.map((backend) =>
    z.object({ ...offer, backend: z.literal(backend.kind), ...backend.schema.shape }),
  )
  // `map` forgets the tuple: each element is built exactly as its type in EntrySchemas says.
  return z.discriminatedUnion('backend', entries as unknown as EntrySchemas<offer, typeof proverBackends>)
}

/** The backend of a market entry (parsed by marketEntrySchema), loaded for its market. */
export function loadBackend(
  entry: { backend: ProverBackendKind } & Record<string, unknown>,
  market: BackendMarket,
): Promise<BackendForKey> {
  const backend: BackendDefinition | undefined = proverBackends.find((listed) => listed.kind === entry.backend)
  if (backend === undefined) return Promise.reject(new Error(`no prover backend ${entry.backend}`))
  // The union parsed the entry with this backend's own schema (it is keyed by `backend`): its fields are there.
  return backend.load(entry, market)
}
