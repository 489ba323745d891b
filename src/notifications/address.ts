// Where a webhook may go: https only, and never to a private, loopback or link-local address
// (the hub's own network), unless the operator listed the host in MHX_WEBHOOK_ALLOW_HOSTS. Checked
// when a subscription is made and again at each delivery, on the addresses the name resolves to
// then, and the connection goes to exactly the address checked (no second resolution to rebind).
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { BlockList, isIP } from 'node:net'

/** Resolves a name to every address it has now (dns.lookup, as the HTTP client would). */
export type Resolve = (hostname: string) => Promise<LookupAddress[]>

export const systemResolve: Resolve = (hostname) => new Promise((resolve, reject) => {
  dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => err ? reject(err) : resolve(addresses))
})

// IANA's special-purpose registries: what is not the public internet.
const RANGES: Array<[string, number, 'ipv4' | 'ipv6', string]> = [
  ['0.0.0.0', 8, 'ipv4', 'unspecified'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'private (shared address space)'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'reserved'],
  ['192.0.2.0', 24, 'ipv4', 'reserved (documentation)'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'reserved (benchmarking)'],
  ['198.51.100.0', 24, 'ipv4', 'reserved (documentation)'],
  ['203.0.113.0', 24, 'ipv4', 'reserved (documentation)'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['64:ff9b:1::', 48, 'ipv6', 'private (local NAT64)'],
  ['100::', 64, 'ipv6', 'reserved (discard)'],
  ['2001:db8::', 32, 'ipv6', 'reserved (documentation)'],
  ['fc00::', 7, 'ipv6', 'private (unique local)'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['fec0::', 10, 'ipv6', 'private (site-local)'],
  ['ff00::', 8, 'ipv6', 'multicast']
]
const blocked = RANGES.map(([network, prefix, type, reason]) => {
  const list = new BlockList()
  list.addSubnet(network, prefix, type)
  return { list, type, reason }
})

/** IPv4 inside IPv6 (IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d, 6to4 2002:AABB:CCDD::): the IPv4 address it reaches. */
function embeddedIpv4 (address: string): string | undefined {
  const lower = address.toLowerCase()
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower)
  if (dotted) return dotted[1]
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower) ?? /^2002:([0-9a-f]{1,4}):([0-9a-f]{1,4})(?::|$)/.exec(lower)
  if (!hex) return undefined
  const n = (parseInt(hex[1], 16) << 16 | parseInt(hex[2], 16)) >>> 0
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

/** Why a webhook may not go to this address (loopback, private, link-local, …), or undefined for a public one. */
export function addressRefusal (address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '')
  const family = isIP(bare)
  if (family === 0) return 'not an IP address'
  if (family === 6) {
    const v4 = embeddedIpv4(bare)
    if (v4 !== undefined) return addressRefusal(v4)
  }
  const type = family === 4 ? 'ipv4' : 'ipv6'
  return blocked.find((range) => range.type === type && range.list.check(bare, type))?.reason
}

export interface Destination {
  url: URL
  /** Listed in MHX_WEBHOOK_ALLOW_HOSTS: http and any address allowed. */
  allowed: boolean
}

/** A webhook URL that may not be used: `message` says why, for the field the URL came in. */
export class DestinationRefused extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'DestinationRefused'
  }
}

/**
 * The host exactly as the URL writes it (lower case; IPv6 bracketed), for MHX_WEBHOOK_ALLOW_HOSTS:
 * URL parsing would turn `2130706433` or `127.1` into `127.0.0.1`, and a listed address must not
 * admit other spellings of itself.
 */
export function writtenHost (raw: string): string | undefined {
  return /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]/?#]*\]|[^:/?#]*)/i.exec(raw.trim())?.[1].toLowerCase()
}

/**
 * Checks a webhook URL: its form, its scheme and, unless its host is allowed, every address it
 * resolves to now. Throws DestinationRefused.
 */
export async function checkDestination (raw: string, allowHosts: readonly string[], resolve: Resolve): Promise<Destination> {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new DestinationRefused('is not an absolute URL')
  }
  if (url.username !== '' || url.password !== '') throw new DestinationRefused('must not carry a user name or password (the signature authenticates the hub)')
  if (url.hash !== '') throw new DestinationRefused('must not have a fragment')
  const written = writtenHost(raw)
  const allowed = written !== undefined && allowHosts.includes(written)
  if (url.protocol !== 'https:' && !(allowed && url.protocol === 'http:')) {
    throw new DestinationRefused(`must use https (got ${url.protocol.replace(/:$/, '')}); http only for hosts listed in MHX_WEBHOOK_ALLOW_HOSTS`)
  }
  if (!allowed) await publicAddresses(url.hostname, resolve)
  return { url, allowed }
}

/**
 * The addresses a host stands for, each checked public: an IP literal as it is, a name as it
 * resolves now. Throws DestinationRefused naming the first that is not.
 */
export async function publicAddresses (hostname: string, resolve: Resolve): Promise<LookupAddress[]> {
  const literal = hostname.replace(/^\[|\]$/g, '')
  let addresses: LookupAddress[]
  if (isIP(literal) !== 0) {
    addresses = [{ address: literal, family: isIP(literal) }]
  } else {
    try {
      addresses = await resolve(hostname)
    } catch (err) {
      throw new DestinationRefused(`host ${hostname} does not resolve (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
    }
    if (addresses.length === 0) throw new DestinationRefused(`host ${hostname} does not resolve`)
  }
  for (const { address } of addresses) {
    const refusal = addressRefusal(address)
    if (refusal !== undefined) {
      const via = isIP(literal) !== 0 ? '' : ` (${hostname} resolves to it)`
      throw new DestinationRefused(`${address} is a ${refusal} address${via}: not allowed unless the host is listed in MHX_WEBHOOK_ALLOW_HOSTS`)
    }
  }
  return addresses
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void

/**
 * A `lookup` for http(s).request: resolves, checks every address and hands the connection only
 * checked ones, so the address connected to is the address checked.
 */
export function guardedLookup (resolve: Resolve) {
  return (hostname: string, options: { all?: boolean, family?: number | string }, callback: LookupCallback): void => {
    publicAddresses(hostname, resolve).then((addresses) => {
      const wanted = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0
      const usable = wanted === 0 ? addresses : addresses.filter((a) => a.family === wanted)
      if (usable.length === 0) {
        callback(Object.assign(new Error(`no IPv${wanted} address for ${hostname}`), { code: 'ENOTFOUND' }), options.all ? [] : '', 0)
      } else if (options.all) {
        callback(null, usable)
      } else {
        callback(null, usable[0].address, usable[0].family)
      }
    }, (err: Error) => callback(Object.assign(err, { code: 'EREFUSED_ADDRESS' }), options.all ? [] : '', 0))
  }
}
