// The signature docs/notifications.md shows is what the hub computes and what Standard Webhooks'
// own verifier accepts (at the example's time), so an integrator can test against it.
import { readFileSync } from 'node:fs'
import { Webhook } from 'standardwebhooks'
import t from 'tap'
import { newSecret, signature, signedHeaders } from '../../src/notifications/signature.js'

const doc = readFileSync(new URL('../../docs/notifications.md', import.meta.url), 'utf8')
const secret = /"secret": "(whsec_[^"]+)"/.exec(doc)![1]
const header = (name: string) => new RegExp(`^${name}: (.+)$`, 'm').exec(doc)![1]
const body = /^(\{"type":"period\.published".*\})$/m.exec(doc)![1]

t.test('the documented delivery is signed as the hub signs and verifies with standardwebhooks', async (t) => {
  const id = header('webhook-id')
  const timestamp = Number(header('webhook-timestamp'))
  t.equal(signature(secret, id, timestamp, body), header('webhook-signature'))
  const now = Date.now
  Date.now = () => timestamp * 1000
  t.teardown(() => { Date.now = now })
  const event = new Webhook(secret).verify(body, { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': header('webhook-signature') })
  t.match(event, { type: 'period.published', data: { country: 'KAZ', period: '2026-11' } })
})

t.test('a new secret is 32 random bytes as whsec_; headers carry whole seconds', async (t) => {
  const made = newSecret()
  t.match(made, /^whsec_[A-Za-z0-9+/]{43}=$/)
  t.not(made, newSecret())
  const headers = signedHeaders(made, 'msg_1', new Date(1_796_623_200_999), '{}')
  t.equal(headers['webhook-timestamp'], '1796623200')
  t.doesNotThrow(() => {
    const now = Date.now
    Date.now = () => 1_796_623_200_999
    try {
      new Webhook(made).verify('{}', headers)
    } finally {
      Date.now = now
    }
  })
})
