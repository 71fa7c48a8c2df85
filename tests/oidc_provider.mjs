// A real OpenID Connect provider for the single sign-on tests: panva's oidc-provider (npm, v9),
// started by tests/oidc_support.py and stopped after. It stands in for a national employee
// signature broker: clients must use PKCE, ID tokens carry the user name, the organisation claim
// and `amr`, and a tiny sign-in page of our own lets a test choose the user and whether the
// broker did multi-factor authentication (oidc-provider's devInteractions cannot set `amr`).
//
//   node tests/oidc_provider.mjs CONFIG.json
//
// CONFIG: {"modules": ".cache/npm/node_modules", "host": "localhost", "redirect_uris": [...],
//          "clients": [{"client_id": ..., "client_secret": ... (optional)}],
//          "accounts": {"anna": {"koes_organisation": "kommune:101", "name": "Anna"}}}
// Prints `ready <issuer>` once it listens on a free port of 127.0.0.1.

import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const entry = resolve(config.modules, "oidc-provider", "lib", "index.js");
const { default: Provider } = await import(pathToFileURL(entry).href);

const server = createServer();
await new Promise((done) => server.listen(0, "127.0.0.1", done));
const issuer = `http://${config.host ?? "127.0.0.1"}:${server.address().port}`;

// A fresh signing key per run: the client must fetch it from jwks_uri, as it would from a broker.
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: "jwk" }), kid: "koes-test-1", use: "sig", alg: "RS256" };

const clients = config.clients.map((c) => ({
  client_id: c.client_id,
  ...(c.client_secret
    ? { client_secret: c.client_secret, token_endpoint_auth_method: "client_secret_basic" }
    : { token_endpoint_auth_method: "none" }),
  redirect_uris: config.redirect_uris,
  grant_types: ["authorization_code"],
  response_types: ["code"],
}));

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString("hex")] },
  pkce: { required: () => true }, // every client, confidential ones too
  // amr under openid: claims outside a scope reach the ID token only when asked for one by one.
  claims: { openid: ["sub", "amr"], profile: ["name", "preferred_username"], koes: ["koes_organisation"] },
  conformIdTokenClaims: false, // the scopes' claims go into the ID token, not only to userinfo
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, sub) {
    const account = config.accounts[sub];
    if (!account) return undefined;
    return { accountId: sub, claims: async () => ({ sub, preferred_username: sub, ...account }) };
  },
  // First-party client: consent is implied, as with a broker the organisation has set up.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid profile koes");
    await grant.save();
    return grant;
  },
});

const page = (uid) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test broker</title></head>
<body><main><h1>Test broker</h1>
<form method="post" action="/interaction/${uid}">
<label for="login">Login</label> <input id="login" name="login" autocomplete="off">
<label><input type="checkbox" name="mfa" value="1"> Second factor</label>
<button type="submit">Sign in at the broker</button>
<button type="submit" name="abort" value="1">Cancel</button>
</form></main></body></html>`;

async function formOf(req) {
  let body = "";
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error("interaction mismatch");
  if (req.method === "GET") {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    res.end(page(uid));
    return;
  }
  const form = await formOf(req);
  const login = form.get("login") ?? "";
  const result = form.get("abort")
    ? { error: "access_denied", error_description: "the user cancelled" }
    : config.accounts[login]
      ? { login: { accountId: login, amr: form.get("mfa") ? ["pwd", "otp", "mfa"] : ["pwd"] } }
      : { error: "access_denied", error_description: "no such account" };
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
server.on("request", (req, res) => {
  const match = /^\/interaction\/([\w-]+)$/.exec(req.url.split("?")[0]);
  if (!match) return callback(req, res);
  interaction(req, res, match[1]).catch((error) => {
    res.writeHead(400, { "content-type": "text/plain" });
    res.end(`interaction failed: ${error.message}`);
  });
});

const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop); // the test process went away: stop too
process.stdin.resume();
console.log(`ready ${issuer}`);
