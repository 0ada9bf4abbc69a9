import { keccak256, zeroHash } from 'viem'
import type { Inputs, RequestParams } from './types.js'
import { address, bps, hexBytes, InvalidParameterError, smallUint, uint } from './validation.js'

/*
 * createRequest's parameter rules, checked in the SDK so that a bad request is refused with a readable message before
 * anything is signed or sent: the schedule (resolveSchedule), the reward, the speed preference, the refund address and
 * the inputs. The chain checks them again at use; what needs chain state (the market exists, its verifier accepts the
 * public inputs' shape) is checked by the callers that read it.
 */

/** ProofMarketplace.MAX_REQUEST_LIFETIME: a deadline is at most this far from the request's creation. */
export const MAX_REQUEST_LIFETIME = 90 * 86_400
/** How long a request stays assignable when neither its matching expiry nor its deadline is given. */
export const DEFAULT_MATCHING_WINDOW = 600
/** The matcher's default trade-off: halfway between the cheapest and the fastest prover. */
export const DEFAULT_SPEED_PREFERENCE_BPS = 5_000

export type ScheduleParams = {
  /** Seconds the assigned prover gets from assignment to proof. */
  provingTime: number
  /** Unix time after which a proof is worthless (default: matchingExpiry + provingTime). */
  deadline?: number | bigint
  /** Unix time after which the request can no longer be assigned (default: deadline − provingTime, the latest). */
  matchingExpiry?: number | bigint
  /** Seconds from now the request stays assignable when neither time is given (default 600). */
  matchingWindow?: number
}

export type Schedule = { provingTime: number; matchingExpiry: number; deadline: number }

/**
 * A request's schedule from chain time `now`, with createRequest's rules checked here so that a bad schedule is
 * refused with a readable message before anything is sent: now < matchingExpiry, matchingExpiry + provingTime ≤
 * deadline, deadline ≤ now + 90 days.
 */
export function resolveSchedule(now: bigint, params: ScheduleParams): Schedule {
  const provingTime = smallUint('provingTime', params.provingTime, 32, 1)
  const given = (name: 'deadline' | 'matchingExpiry') =>
    params[name] === undefined ? undefined : smallUint(name, params[name], 32)
  let deadline = given('deadline')
  let matchingExpiry = given('matchingExpiry')
  if (matchingExpiry === undefined) {
    matchingExpiry =
      deadline === undefined
        ? Number(now) + smallUint('matchingWindow', params.matchingWindow ?? DEFAULT_MATCHING_WINDOW, 32, 1)
        : deadline - provingTime
  }
  deadline ??= matchingExpiry + provingTime
  if (BigInt(matchingExpiry) <= now) {
    throw new InvalidParameterError(
      'matchingExpiry',
      `${matchingExpiry} is not after chain time ${now}: the request could never be assigned` +
        (params.deadline === undefined ? '' : ` (the deadline leaves less than the proving time of ${provingTime}s)`),
    )
  }
  if (matchingExpiry + provingTime > deadline) {
    throw new InvalidParameterError(
      'deadline',
      `${deadline} is earlier than matchingExpiry ${matchingExpiry} + provingTime ${provingTime}: a late assignment would not leave the whole proving time`,
    )
  }
  const latest = now + BigInt(MAX_REQUEST_LIFETIME)
  if (BigInt(deadline) > latest) {
    throw new InvalidParameterError(
      'deadline',
      `${deadline} is more than 90 days after chain time ${now} (at most ${latest})`,
    )
  }
  return { provingTime, matchingExpiry, deadline }
}

/**
 * Checks complete request parameters (as createRequest or a SignedRequest takes them) against createRequest's rules
 * at chain time `now`: marketId and maxReward in range and not zero, the schedule (resolveSchedule's rules), speed
 * preference ≤ 10 000 bps, a refund address that is not zero, public inputs present and both inputs well formed
 * (inline data with no digest or its own keccak256; or a URI together with its digest). Throws InvalidParameterError.
 */
export function checkRequestParams(params: RequestParams, now: bigint): void {
  smallUint('marketId', params.marketId, 32, 1)
  uint('maxReward', params.maxReward, 96, 1n)
  resolveSchedule(now, {
    provingTime: params.provingTime,
    matchingExpiry: params.matchingExpiry,
    deadline: params.deadline,
  })
  bps('speedPreferenceBps', params.speedPreferenceBps)
  address('refundAddress', params.refundAddress)
  if (checkInputs('publicInputs', params.publicInputs) === zeroHash) {
    throw new InvalidParameterError('publicInputs', 'a request needs public inputs, inline or behind a URI')
  }
  checkInputs('privateInputs', params.privateInputs)
}

/** The digest the marketplace commits to for `inputs` (zero when absent), refusing what _inputsDigest refuses. */
function checkInputs(parameter: string, inputs: Inputs): `0x${string}` {
  const data = hexBytes(`${parameter}.data`, inputs.data)
  const digest = hexBytes(`${parameter}.digest`, inputs.digest, { size: 32 })
  if (data !== '0x') {
    const actual = keccak256(data)
    if (digest !== zeroHash && digest.toLowerCase() !== actual) {
      throw new InvalidParameterError(
        `${parameter}.digest`,
        `${digest} is not the keccak256 of the inline data (${actual}): leave it zero or give the data's digest`,
      )
    }
    return actual
  }
  if ((digest === zeroHash) !== (inputs.uri === '')) {
    throw new InvalidParameterError(
      parameter,
      'inputs behind a URI need both the URI and their digest (and absent inputs neither)',
    )
  }
  return digest
}
