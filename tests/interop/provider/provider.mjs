// The other side of the interop tests: npm's certified `oidc-provider`, configured from a JSON file
// (argv[2]) that the Python harness (tests/interop/op.py) writes. All protocol work is the library's;
// only the sign-in screen is ours, as in any real deployment of it: a list of test accounts and the
// level of assurance to sign in with (the level the relying party asked for is preselected).
//
// Config: {port, issuer, clients: [...], accounts: {id: {claims}}, claims: {scope: [claim...]},
//          jwks: {keys: [private JWK...]}, idTokenClaims: bool, acrValues: [...]}
// A POST to /__control/jwks {keys: [...]} replaces the signing keys (rotation); the provider is
// otherwise stateless between runs (memory adapter).

import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = config.accounts ?? {};

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function makeProvider(jwks) {
  const provider = new Provider(config.issuer, {
    clients: config.clients,
    jwks,
    claims: config.claims ?? { openid: ['sub'] },
    acrValues: config.acrValues ?? [],
    conformIdTokenClaims: !(config.idTokenClaims ?? false),
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true },
      backchannelLogout: { enabled: true },
      encryption: { enabled: true },
      jwtUserinfo: { enabled: true },
    },
    cookies: { keys: ['interop-cookie-key-0123456789abcdef'] },
    pkce: { required: () => true },
    // The app lives on loopback in these tests, which the library's SSRF guard refuses to fetch
    // from (jwks_uri, back-channel logout): its dispatcher goes, the rest of the request stays.
    fetch: (url, options) => globalThis.fetch(url, { ...options, dispatcher: undefined }),
    ttl: { Session: 3600, Interaction: 600, Grant: 3600, IdToken: 300, AccessToken: 300 },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, id) {
      if (!(id in accounts)) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...accounts[id] }; } };
    },
    async loadExistingGrant(ctx) {
      // The relying party is the municipality's own app: no consent screen, every asked scope granted.
      const grant = ctx.oidc.grantId
        ? await ctx.oidc.provider.Grant.find(ctx.oidc.grantId)
        : new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope(ctx.oidc.params.scope);
      if (ctx.oidc.params.claims) grant.addOIDCClaims(Object.keys(JSON.parse(ctx.oidc.params.claims).id_token ?? {}));
      for (const claims of Object.values(config.claims ?? {})) grant.addOIDCClaims(claims);
      await grant.save();
      return grant;
    },
  });
  provider.proxy = false;
  for (const event of ['grant.error', 'authorization.error', 'userinfo.error', 'end_session.error',
    'backchannel.error', 'server_error', 'introspection.error', 'jwks.error']) {
    provider.on(event, (...args) => {
      const err = args.find((a) => a instanceof Error);
      console.log(`${event}: ${err?.message} ${err?.error_description ?? ''} ${err?.error_detail ?? ''} ${err?.cause?.message ?? ''} ${err?.cause?.cause?.message ?? ''}`);
    });
  }
  return provider;
}

let provider = makeProvider(config.jwks);

function readBody(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

async function signInScreen(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  const asked = String(details.params.acr_values ?? '').split(' ')[0];
  const people = Object.entries(accounts).map(([id, claims], i) =>
    `<label><input type="radio" name="login" value="${escape(id)}" data-account="${escape(id)}"${i === 0 ? ' checked' : ''}> ${escape(claims.name ?? id)}</label>`).join('<br>');
  const levels = (config.acrValues ?? []).map((acr) =>
    `<label><input type="radio" name="acr" value="${escape(acr)}" data-acr="${escape(acr)}"${acr === asked ? ' checked' : ''}> ${escape(acr)}</label>`).join('<br>');
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!doctype html><html><head><title>Interop provider</title></head><body>
<h1 data-provider="interop">Sign in at the interop provider</h1>
<p data-client="${escape(details.params.client_id)}">for ${escape(details.params.client_id)}</p>
<form method="post" action="/interaction/${escape(uid)}">
<fieldset><legend>Account</legend>${people}</fieldset>
<fieldset><legend>Level</legend>${levels}</fieldset>
<button type="submit" data-action="sign-in">Sign in</button>
</form>
<form method="post" action="/interaction/${escape(uid)}/abort"><button type="submit" data-action="abort">Cancel</button></form>
</body></html>`);
}

async function finishSignIn(req, res, uid, abort) {
  const form = new URLSearchParams(await readBody(req));
  if (abort) {
    await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'cancelled' });
    return;
  }
  const login = { accountId: form.get('login') };
  if (form.get('acr')) login.acr = form.get('acr');
  login.amr = ['pwd'];
  await provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, config.issuer);
    const interaction = url.pathname.match(/^\/interaction\/([^/]+)(\/abort)?$/);
    if (interaction && req.method === 'GET') return await signInScreen(req, res, interaction[1]);
    if (interaction && req.method === 'POST') return await finishSignIn(req, res, interaction[1], Boolean(interaction[2]));
    if (url.pathname === '/__control/jwks' && req.method === 'POST') {
      provider = makeProvider(JSON.parse(await readBody(req)));
      res.writeHead(204);
      return res.end();
    }
    if (url.pathname === '/__control/health') {
      res.writeHead(200);
      return res.end('ok');
    }
    return provider.callback()(req, res);
  } catch (err) {
    console.error(err);
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(String(err));
  }
});

server.listen(config.port, '127.0.0.1', () => {
  console.log(`interop provider ${config.issuer} on 127.0.0.1:${config.port}`);
});
