// Where the read policy's inputs come from in a running hub: the partner directory (status, roles,
// grants, invalidated on change in every process), the stewardship book (stewards, consents,
// publications) and the configuration. Routes build one and hand it to decideRead's callers.
import type { PartnerDirectory } from '../auth/directory.js'
import type { Config } from '../config.js'
import type { StewardshipBook, StewardshipState } from '../stewardship/book.js'
import { dayOf } from '../stewardship/consents.js'
import type { PolicyReader, PolicyState } from './read.js'

export interface PolicyContext {
  /** The partner as it is now, with this token's scopes (an unknown partner reads nothing). */
  readerOf (caller: { partnerId: string, scopes: ReadonlySet<string> }): Promise<PolicyReader>
  /** Stewards, consents, the hub's k and today, with the stewardship state they were read from. */
  policyState (): Promise<{ policy: PolicyState, stewardship: StewardshipState }>
}

export function createPolicyContext (deps: { directory: PartnerDirectory, stewardship: StewardshipBook, config: Pick<Config, 'consent' | 'suppressionK' | 'sensitiveK'>, now: () => Date }): PolicyContext {
  return {
    async readerOf (caller) {
      const state = await deps.directory.get(caller.partnerId)
      return { partnerId: caller.partnerId, scopes: caller.scopes, roles: state?.roles ?? [], country: state?.country ?? null, grants: state?.grants ?? [] }
    },
    async policyState () {
      const stewardship = await deps.stewardship.state()
      const policy = { stewardship, consent: deps.config.consent, hubK: deps.config.suppressionK, sensitiveK: deps.config.sensitiveK, today: dayOf(deps.now()) }
      return { policy, stewardship }
    }
  }
}
