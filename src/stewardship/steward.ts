// The steward: a ministry speaking for its own country's data, and only for it.
import type { Caller } from '../auth/bearer.js'
import { SCOPE } from '../auth/scopes.js'
import { problem } from '../problem.js'

/** A caller known to be the steward of `country`. */
export interface Steward { partnerId: string, country: string }

/** Whether this partner is the steward of `country` (by its roles: a token may carry fewer scopes). */
export function isStewardOf (partner: { country: string | null, roles: readonly string[] }, country: string): boolean {
  return partner.country === country && partner.roles.includes('steward')
}

/**
 * For the read path: whether this read is a steward reading its own country's working data — the
 * unit asked for is exactly the steward's country — which it does with exact counts, without a
 * grant or a consent. The caller must hold the data:steward scope in this token.
 */
export function stewardReadsOwn (caller: Pick<Caller, 'scopes' | 'country'>, region: { code: string, members: readonly string[] }): boolean {
  return caller.scopes.has(SCOPE.steward) && caller.country !== null
    && region.code === caller.country && region.members.length === 1 && region.members[0] === caller.country
}

/** The caller as a steward (routes behind authorize(SCOPE.steward)); a steward always has a country. */
export function stewardOf (caller: Caller): Steward {
  if (!caller.scopes.has(SCOPE.steward) || !caller.country) throw problem('forbidden', `this route needs the scope ${SCOPE.steward}`)
  return { partnerId: caller.partnerId, country: caller.country }
}

/** A 403 unless `country` is the steward's own. */
export function assertOwnCountry (steward: Steward, country: string, path = 'country'): void {
  if (country !== steward.country) {
    throw problem('forbidden', `${steward.partnerId} is the steward of ${steward.country}, not of ${country}`, { errors: [{ path, message: `not your country (${steward.country})` }] })
  }
}
