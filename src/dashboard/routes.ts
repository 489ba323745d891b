// The dashboard: static files built from web/ (web/build.ts, run by `npm start`) served at /app/ (the
// bulletin's deep link /app/bulletin too), and `GET /` redirecting there. The page talks to the API with the partner's own tokens; the server holds nothing for it.
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync } from 'fastify'
import { problem } from '../problem.js'

/** Where web/build.ts writes (the package root's web/dist, in the repository and in the Docker image alike). */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../web/dist/', import.meta.url))

// The page's own origin only; Plot writes style attributes and a <style> into its SVGs.
const CSP = 'default-src \'self\'; script-src \'self\'; style-src \'self\' \'unsafe-inline\'; img-src \'self\' data: blob:; '
  + 'connect-src \'self\'; object-src \'none\'; base-uri \'none\'; form-action \'self\'; frame-ancestors \'none\''

export const dashboardRoutes: FastifyPluginAsync<{ dir?: string }> = async (app, options) => {
  const dir = options.dir ?? DASHBOARD_DIR
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/app/'))
  app.get('/app', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/app/'))

  if (!existsSync(join(dir, 'index.html'))) {
    app.get('/app/*', { schema: { hide: true } }, async () => {
      throw problem('unavailable', 'the dashboard is not built: `npm start` builds it (or run `npx tsx web/build.ts`)')
    })
    return
  }
  // The bulletin is the same page on its own path (a deep link, printed by `mhx bulletin`): index.html, never cached.
  app.get('/app/bulletin', { schema: { hide: true } }, async (_request, reply) => reply
    .header('cache-control', 'no-cache').header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer')
    .type('text/html; charset=utf-8').send(await readFile(join(dir, 'index.html'))))
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/app/',
    preCompressed: true,
    decorateReply: false,
    setHeaders: (reply, path) => {
      // Script and stylesheet names carry a content hash; index.html is always revalidated.
      reply.header('cache-control', /index\.html(\.br|\.gz)?$/.test(path) ? 'no-cache' : 'public, max-age=31536000, immutable')
      reply.header('content-security-policy', CSP)
      reply.header('x-content-type-options', 'nosniff')
      reply.header('referrer-policy', 'no-referrer')
    }
  })
}
