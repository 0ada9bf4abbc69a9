import { Counter, Gauge, Histogram, Registry } from 'prom-client'

/** One registry per runner, not prom-client's global one, so several runners can share a process (tests). */
export function createMetrics() {
  const registry = new Registry()
  const registers = [registry]
  return {
    registry,
    proofsStarted: new Counter({
      name: 'cairn_prover_proofs_started_total',
      help: 'Proof attempts started, by backend',
      labelNames: ['backend'] as const,
      registers,
    }),
    proofsSucceeded: new Counter({
      name: 'cairn_prover_proofs_succeeded_total',
      help: 'Proofs produced, by backend',
      labelNames: ['backend'] as const,
      registers,
    }),
    proofsFailed: new Counter({
      name: 'cairn_prover_proofs_failed_total',
      help: 'Failed proof attempts, by backend and kind (invalid-inputs, undecryptable, inputs-unavailable, transient, ...)',
      labelNames: ['backend', 'kind'] as const,
      registers,
    }),
    provingSeconds: new Histogram({
      name: 'cairn_prover_proving_seconds',
      help: 'Wall-clock seconds of one proof attempt (inputs, decryption and backend), by backend',
      labelNames: ['backend'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers,
    }),
    submissions: new Counter({
      name: 'cairn_prover_submissions_total',
      help: 'Fulfilment transactions sent, by method (fulfil, fulfilBatch, fulfilSigned, fulfilSignedBatch, fulfilOpen)',
      labelNames: ['method'] as const,
      registers,
    }),
    fulfilments: new Counter({
      name: 'cairn_prover_fulfilments_total',
      help: 'Proofs settled on chain, by outcome (fulfilled, skipped)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    invalidInputs: new Counter({
      name: 'cairn_prover_invalid_inputs_rejections_total',
      help: 'Tasks settled with an enclave-signed invalid-input attestation (rejectInputs)',
      registers,
    }),
    retries: new Counter({
      name: 'cairn_prover_retries_total',
      help: 'Retries after a transient failure, by stage (prove, submit, reject, claim, inputs, register)',
      labelNames: ['stage'] as const,
      registers,
    }),
    tasksFailed: new Counter({
      name: 'cairn_prover_tasks_failed_total',
      help: 'Tasks given up without a proof or an attestation, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    tasksAlreadySettled: new Counter({
      name: 'cairn_prover_tasks_already_settled_total',
      help: 'Tasks found settled on chain before this runner submitted anything for them',
      registers,
    }),
    tasksInFlight: new Gauge({
      name: 'cairn_prover_tasks_in_flight',
      help: 'Assigned tasks this runner is working on',
      registers,
    }),
    claims: new Counter({
      name: 'cairn_prover_fallback_claims_total',
      help: 'Requests claimed through the fallback after the matcher left them unassigned',
      registers,
    }),
    fallbackSkipped: new Counter({
      name: 'cairn_prover_fallback_skipped_total',
      help: 'Requests the fallback never claims: inputs that can never load or are not the committed bytes, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    fastOffersSeen: new Counter({
      name: 'cairn_prover_fast_offers_seen_total',
      help: "Fast assignments read from the matcher's fast lane, each counted once",
      registers,
    }),
    fastOffersProved: new Counter({
      name: 'cairn_prover_fast_offers_proved_total',
      help: 'Fast assignments proven (their proof ready to submit)',
      registers,
    }),
    fastOffersFulfilled: new Counter({
      name: 'cairn_prover_fast_offers_fulfilled_total',
      help: 'Fast assignments fulfilled on chain (fulfilSigned, fulfilSignedBatch, fulfilOpen)',
      registers,
    }),
    fastOffersDropped: new Counter({
      name: 'cairn_prover_fast_offers_dropped_total',
      help: 'Fast assignments given up, by reason (nonce-spent, deposit-short, not-open, no-time, expired, a proof failure, a contract error name, ...)',
      labelNames: ['reason'] as const,
      registers,
    }),
    slashes: new Counter({
      name: 'cairn_prover_slashes_total',
      help: 'TaskSlashed events against this prover since the circuit breaker was last reset, seen by this run',
      registers,
    }),
    breakerTripped: new Gauge({
      name: 'cairn_prover_breaker_tripped',
      help: '1 while the circuit breaker is tripped (after a slash, until POST /reset)',
      registers,
    }),
    keyRegistrations: new Counter({
      name: 'cairn_prover_key_registrations_total',
      help: 'Enclave keys attested and registered in the TeeRegistry, by market',
      labelNames: ['market'] as const,
      registers,
    }),
    keyExpiry: new Gauge({
      name: 'cairn_prover_enclave_key_expiry_timestamp_seconds',
      help: "Chain time the market's current enclave key expires",
      labelNames: ['market'] as const,
      registers,
    }),
    lastBlock: new Gauge({
      name: 'cairn_prover_last_block',
      help: 'Last block whose logs were processed',
      registers,
    }),
    errors: new Counter({
      name: 'cairn_prover_errors_total',
      help: 'Failed rounds, by loop',
      labelNames: ['loop'] as const,
      registers,
    }),
  }
}

export type Metrics = ReturnType<typeof createMetrics>
