// Roles give scopes; a token may carry fewer.
export const ROLES = ['reporter', 'reader', 'admin', 'steward'] as const
export type PartnerRole = typeof ROLES[number]

export const SCOPE = {
  submissionsWrite: 'submissions:write',
  aggregatesRead: 'aggregates:read',
  admin: 'admin',
  steward: 'data:steward'
} as const
export type Scope = typeof SCOPE[keyof typeof SCOPE]

const SCOPE_OF_ROLE: Record<PartnerRole, Scope> = {
  reporter: SCOPE.submissionsWrite,
  reader: SCOPE.aggregatesRead,
  admin: SCOPE.admin,
  steward: SCOPE.steward
}

export const ALL_SCOPES: Scope[] = Object.values(SCOPE)

export function scopesForRoles (roles: readonly string[]): Scope[] {
  return ROLES.filter((role) => roles.includes(role)).map((role) => SCOPE_OF_ROLE[role])
}
