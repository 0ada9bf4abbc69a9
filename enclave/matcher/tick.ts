import type { PollRound } from '../../ts/service/poll-loop.js'
import type { Follower } from './follow.js'
import type { MatcherKey } from './key-lifecycle.js'
import type { Round } from './round.js'
import type { Submitter } from './submitter.js'

/*
 * One poll of the matcher, in stages (each names where a failure happened, for errors_total{stage}): follow the head
 * (`head`, `sync`), settle the batch in flight (`receipt`), renew the key when due (`attest`), and match (`round`) at
 * most once per block. While a batch is in flight or the key is being renewed nothing else is sent: at most one
 * assign transaction per block, never a second while the first is pending, and none with a key about to be refused.
 */

export type TickAction = 'await-batch' | 'attest' | 'idle' | 'round'

/** What a poll does once the head is followed and the batch in flight settled as far as it goes. */
export function nextAction(facts: {
  pending: boolean
  renewalWanted: boolean
  canSign: boolean
  head: bigint
  lastRound: bigint
}): TickAction {
  if (facts.pending) return 'await-batch'
  if (facts.renewalWanted) return 'attest'
  if (facts.head <= facts.lastRound || !facts.canSign) return 'idle'
  return 'round'
}

export type TickPorts = {
  follower: Pick<Follower, 'follow'>
  /** Book and key gauges at chain time `now`. */
  updateGauges: (now: number) => void
  submitter: Pick<Submitter, 'pending' | 'queued' | 'settle'>
  key: Pick<MatcherKey, 'renewalWanted' | 'renew' | 'canSign'>
  round: Pick<Round, 'run'>
}

/** The poll round (`head` first: stages as it goes) for ts/service/poll-loop.ts. */
export function createTick(ports: TickPorts): PollRound {
  const { submitter, key } = ports
  let lastRound = -1n
  return {
    name: 'head',
    async run(stage) {
      const head = await ports.follower.follow(stage)
      const now = Number(head.timestamp)
      ports.updateGauges(now)
      stage('receipt')
      if (submitter.pending !== undefined || submitter.queued.length > 0) await submitter.settle(now, head.number)
      stage('attest')
      const action = nextAction({
        pending: submitter.pending !== undefined,
        renewalWanted: key.renewalWanted(now),
        canSign: key.canSign(now),
        head: head.number,
        lastRound,
      })
      if (action === 'attest') await key.renew(now)
      if (action !== 'round') return
      stage('round')
      lastRound = head.number
      await ports.round.run(head)
    },
  }
}
