// The words of the ministry's screens (steward, DHIS2 mapping) and of the quarterly bulletin: the `ministry.`
// block of each language file (web/src/i18n/<code>.json), kept together so the reader's words and these
// change side by side.
import { t, type MessageKey } from './i18n.js'

export type MinistryKey = { [K in MessageKey]: K extends `ministry.${infer Name}` ? Name : never }[MessageKey]

/** A ministry or bulletin text in the page's language, with {name} filled in. */
export function tm (key: MinistryKey, vars: Record<string, string | number> = {}): string {
  return t(`ministry.${key}`, vars)
}
