// The steward: a ministry speaking for its own country's data, and only for it.
import type { Caller } from '../auth/bearer.js'
import { SCOPE } from '../auth/scopes.js'
import { problem } from '../problem.js'

/** A caller known to be the steward of `country`. */
export interface Steward { partnerId: string, country: string }

/** The caller as a steward (routes behind authorize(SCOPE.steward)); a steward always has a country. */
export function stewardOf (caller: Caller): Steward {
  if (!caller.scopes.has(SCOPE.steward) || !caller.country) throw problem('forbidden', `this route needs the scope ${SCOPE.steward}`, { requiredScope: SCOPE.steward })
  return { partnerId: caller.partnerId, country: caller.country }
}

/** A 403 unless `country` is the steward's own. */
export function assertOwnCountry (steward: Steward, country: string, path = 'country'): void {
  if (country !== steward.country) {
    throw problem('notOwner', `${steward.partnerId} is the steward of ${steward.country}, not of ${country}`, { errors: [{ path, message: `not your country (${steward.country})` }] })
  }
}
