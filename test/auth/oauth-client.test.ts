// A standard OAuth client library (oauth4webapi: RFC 8414 discovery, private_key_jwt,
// client credentials) gets a token from the hub with no custom code.
import * as oauth from 'oauth4webapi'
import t from 'tap'
import { buildTestHub, freePort } from '../helpers.js'

const port = await freePort()
const issuer = `http://127.0.0.1:${port}`
const hub = await buildTestHub(t, { config: { publicUrl: issuer } })
await hub.app.listen({ port, host: '127.0.0.1' })
const reader = await hub.partner({ roles: ['reader'] })

t.test('discovery, private_key_jwt and client_credentials with oauth4webapi', async (t) => {
  // Plain http on loopback only; production runs behind TLS.
  const insecure = { [oauth.allowInsecureRequests]: true }
  const as = await oauth.processDiscoveryResponse(new URL(issuer), await oauth.discoveryRequest(new URL(issuer), { algorithm: 'oauth2', ...insecure }))
  t.equal(as.token_endpoint, `${issuer}/v1/oauth/token`)
  const client: oauth.Client = { client_id: reader.id }
  const auth = oauth.PrivateKeyJwt({ key: reader.privateKey, kid: reader.kid })
  const response = await oauth.clientCredentialsGrantRequest(as, client, auth, new URLSearchParams({ scope: 'aggregates:read' }), insecure)
  const result = await oauth.processClientCredentialsResponse(as, client, response)
  t.equal(result.token_type, 'bearer')
  t.equal(result.scope, 'aggregates:read')
  t.equal(result.expires_in, 300)
  // The token it got works on a protected route, and speaks for the client.
  const me = await fetch(`${issuer}/v1/me`, { headers: { authorization: `Bearer ${result.access_token}` } })
  t.equal(me.status, 200)
  t.equal((await me.json() as { partner: string }).partner, reader.id)
})
