import { Counter, Gauge, Registry } from 'prom-client'

/** One registry per relayer, not prom-client's global one, so several relayers can run in one process (tests). */
export function createMetrics() {
  const registry = new Registry()
  const snapshotsCommitted = new Counter({
    name: 'cairn_relayer_snapshots_committed_total',
    help: 'Stake snapshots this relayer committed to the StakeMirror',
    registers: [registry],
  })
  const slashesDelivered = new Counter({
    name: 'cairn_relayer_slashes_delivered_total',
    help: 'Slashes executed on Ethereum through batches this relayer delivered',
    registers: [registry],
  })
  const errors = new Counter({
    name: 'cairn_relayer_errors_total',
    help: 'Failed rounds, by loop',
    labelNames: ['loop'] as const,
    registers: [registry],
  })
  const lastEpoch = new Gauge({
    name: 'cairn_relayer_last_epoch',
    help: 'The StakeMirror epoch last seen committed',
    registers: [registry],
  })
  const pendingSlashes = new Gauge({
    name: 'cairn_relayer_pending_slashes',
    help: 'Slashes queued on the marketplace chain and not yet executed on Ethereum',
    registers: [registry],
  })
  const slashesFinalized = new Counter({
    name: 'cairn_relayer_slashes_finalized_total',
    help: 'Veto-slasher requests this relayer finalized on Ethereum (executed after the veto window, or vetoed)',
    registers: [registry],
  })
  const outcomesReported = new Counter({
    name: 'cairn_relayer_slash_outcomes_reported_total',
    help: 'Slash outcomes (executed, vetoed or failed) this relayer reported back to the StakeMirror',
    registers: [registry],
  })
  const heldOutcomes = new Gauge({
    name: 'cairn_relayer_held_slash_outcomes',
    help: 'Executions settled on Ethereum after the StakeMirror current capture: reported once a later snapshot lands',
    registers: [registry],
  })
  const keyRegistrations = new Counter({
    name: 'cairn_relayer_key_registrations_total',
    help: 'Registrations of this relayer key (from its operator account), by chain',
    labelNames: ['chain'] as const,
    registers: [registry],
  })
  const pendingOutcomes = new Gauge({
    name: 'cairn_relayer_pending_slash_outcomes',
    help: 'Slashes queued on the marketplace chain whose outcome the StakeMirror has not recorded yet',
    registers: [registry],
  })
  return {
    registry,
    snapshotsCommitted,
    slashesDelivered,
    slashesFinalized,
    outcomesReported,
    errors,
    lastEpoch,
    pendingSlashes,
    pendingOutcomes,
    heldOutcomes,
    keyRegistrations,
  }
}

export type Metrics = ReturnType<typeof createMetrics>
