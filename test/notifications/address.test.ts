// Where a webhook may go, without a network: which addresses are the hub's own network, how a
// host is read as written, and the lookup that hands a connection only checked addresses.
import t from 'tap'
import { addressRefusal, checkDestination, DestinationRefused, guardedLookup, writtenHost, type Resolve } from '../../src/notifications/address.js'

t.test('private, loopback, link-local and other non-public addresses are named; public ones pass', async (t) => {
  const refused: Array<[string, RegExp]> = [
    ['127.0.0.1', /loopback/], ['127.255.0.9', /loopback/], ['10.0.0.1', /private/], ['172.16.0.1', /private/], ['172.31.255.255', /private/],
    ['192.168.1.1', /private/], ['100.64.0.1', /shared/], ['169.254.169.254', /link-local/], ['0.0.0.0', /unspecified/],
    ['224.0.0.1', /multicast/], ['255.255.255.255', /reserved/], ['192.0.2.1', /documentation/],
    ['::1', /loopback/], ['::', /unspecified/], ['fe80::1', /link-local/], ['fe80::1%eth0', /link-local/], ['fd00::1', /unique local/], ['fc00::1', /unique local/],
    ['ff02::1', /multicast/], ['::ffff:127.0.0.1', /loopback/], ['::ffff:7f00:1', /loopback/], ['::ffff:a00:1', /private/],
    ['64:ff9b::a9fe:a9fe', /link-local/], ['2002:c0a8:0101::1', /private/], ['[::1]', /loopback/], ['localhost', /not an IP/]
  ]
  for (const [address, reason] of refused) t.match(addressRefusal(address), reason, address)
  for (const address of ['93.184.215.14', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2a00:1450:4001:82b::200e', '::ffff:8.8.8.8', '2002:0808:0808::1']) {
    t.equal(addressRefusal(address), undefined, `${address} is public`)
  }
})

t.test('the host as written: another spelling of a listed address is not listed', async (t) => {
  t.equal(writtenHost('https://Receiver.Internal:8443/x'), 'receiver.internal')
  t.equal(writtenHost('http://127.1/x'), '127.1')
  t.equal(writtenHost('https://2130706433/'), '2130706433')
  t.equal(writtenHost('https://user:pw@[::1]:443/x'), '[::1]')
  t.equal(writtenHost('not a url'), undefined)
  const resolve: Resolve = async () => [{ address: '127.0.0.1', family: 4 }]
  t.match(await checkDestination('http://127.0.0.1:9/x', ['127.0.0.1'], resolve), { allowed: true })
  await t.rejects(checkDestination('http://localhost:9/x', ['127.0.0.1'], resolve), /must use https/, '127.0.0.1 does not allow localhost')
  await t.rejects(checkDestination('https://localhost:9/x', ['127.0.0.1'], resolve), /127\.0\.0\.1 is a loopback address \(localhost resolves to it\)/)
  t.match(await checkDestination('http://localhost:9/x', ['localhost'], resolve), { allowed: true }, 'a listed name')
  await t.rejects(checkDestination('https://[::1]/x', ['::1'], resolve), DestinationRefused, 'listed only as the config parser brackets it: [::1]')
})

t.test('a name with one private address among public ones is refused', async (t) => {
  const mixed: Resolve = async () => [{ address: '93.184.215.14', family: 4 }, { address: '10.0.0.5', family: 4 }]
  await t.rejects(checkDestination('https://mixed.example/x', [], mixed), /10\.0\.0\.5 is a private address \(mixed\.example resolves to it\)/)
})

t.test('the connection\'s lookup answers only checked addresses, in the shape Node asks for', async (t) => {
  const lookup = guardedLookup(async (host) => host === 'public.example'
    ? [{ address: '93.184.215.14', family: 4 }, { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 }]
    : [{ address: '169.254.169.254', family: 4 }])
  const ask = (host: string, options: { all?: boolean, family?: number }) => new Promise<{ err: NodeJS.ErrnoException | null, address: unknown, family?: number }>((resolve) => {
    lookup(host, options, (err, address, family) => resolve({ err, address, family }))
  })
  t.same(await ask('public.example', {}), { err: null, address: '93.184.215.14', family: 4 })
  t.same(await ask('public.example', { family: 6 }), { err: null, address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 })
  t.equal(((await ask('public.example', { all: true })).address as unknown[]).length, 2)
  const metadata = await ask('metadata.example', { all: true })
  t.match(metadata.err, { message: /169\.254\.169\.254 is a link-local address/ })
})
