// The peer for `make bench-peers`: panva's oidc-provider, configured for the same work as the
// local tenant (this file is the project's own configuration, not code from oidc-provider).
//
//   node benchmarks/peers/peer.mjs PORT
//
// - one public client, `tutorial-app`, with refresh-token rotation on every use and reuse
//   detection (a consumed refresh token presented again revokes its grant);
// - an RS256 ID token on every refresh, with the profile and email claims the tenant puts in
//   its own (conformIdTokenClaims off);
// - /userinfo with a bearer access token (opaque, looked up in the store, as oidc-provider
//   issues them for its own userinfo endpoint);
// - the same paths as the tenant (/oauth/token, /userinfo), so one load script serves both;
// - an unbounded in-memory store: the bundled adapter is an LRU of 1,000 entries, which drops
//   live refresh tokens once 50 clients have rotated a few times;
// - POST /_bench/seed starts one refresh-token family for the demo user (what a sign-in would
//   leave behind) and answers {"refresh_token": ...}; the benchmark calls it before loading.
//
// Prints "peer listening on http://127.0.0.1:PORT" on stdout once it accepts connections.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.argv[2] || 0);
const issuer = `http://127.0.0.1:${port}`;
const CLIENT_ID = 'tutorial-app';
const SCOPE = 'openid profile email offline_access';
const DAY = 24 * 3600;

// -- the store: one Map for every model, no eviction, expiry checked on read -----------------
const records = new Map(); // "Model:id" -> { payload, expiresAt }
const byGrant = new Map(); // grantId -> Set of "Model:id"
const byUid = new Map(); // session uid -> id
const byUserCode = new Map(); // device user code -> id

class UnboundedStore {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : Infinity;
    records.set(key, { payload, expiresAt });
    if (payload.grantId) {
      if (!byGrant.has(payload.grantId)) byGrant.set(payload.grantId, new Set());
      byGrant.get(payload.grantId).add(key);
    }
    if (payload.uid) byUid.set(payload.uid, id);
    if (payload.userCode) byUserCode.set(payload.userCode, id);
  }

  async find(id) {
    const found = records.get(this.key(id));
    if (!found) return undefined;
    if (found.expiresAt <= Date.now()) {
      records.delete(this.key(id));
      return undefined;
    }
    return found.payload;
  }

  async findByUid(uid) {
    const id = byUid.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = byUserCode.get(userCode);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const found = records.get(this.key(id));
    if (found) found.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    records.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const key of byGrant.get(grantId) ?? []) records.delete(key);
    byGrant.delete(grantId);
  }
}

// -- the demo user, with the claims the tenant gives Ada ---------------------------------------
const ACCOUNTS = new Map([
  [
    'auth0|ada',
    {
      sub: 'auth0|ada',
      name: 'Ada Lovelace',
      nickname: 'ada',
      updated_at: 1700000000,
      email: 'ada@example.com',
      email_verified: true,
    },
  ],
]);

async function findAccount(ctx, sub) {
  const claims = ACCOUNTS.get(sub);
  if (!claims) return undefined;
  return { accountId: sub, claims: async () => ({ ...claims }) };
}

// -- the provider ------------------------------------------------------------------------------
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  adapter: UnboundedStore,
  clients: [
    {
      client_id: CLIENT_ID,
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback'],
    },
  ],
  jwks: { keys: [jwk] },
  findAccount,
  claims: {
    openid: ['sub'],
    profile: ['name', 'nickname', 'updated_at'],
    email: ['email', 'email_verified'],
  },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  rotateRefreshToken: true,
  conformIdTokenClaims: false,
  cookies: { keys: [randomBytes(32).toString('hex')] },
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: true },
    userinfo: { enabled: true },
  },
  routes: { token: '/oauth/token', userinfo: '/userinfo', revocation: '/oauth/revoke' },
  // The tenant's lifetimes: 1 h access tokens, 10 h ID tokens, 30-day refresh families.
  ttl: {
    AccessToken: 3600,
    IdToken: 36000,
    RefreshToken: 30 * DAY,
    Grant: 30 * DAY,
    Session: 30 * DAY,
    Interaction: 3600,
    AuthorizationCode: 60,
    DeviceCode: 900,
    ClientCredentials: 3600,
    BackchannelAuthenticationRequest: 600,
    PreAuthorizedCode: 600,
  },
  clientBasedCORS: () => false,
});

async function seed(res) {
  const client = await provider.Client.find(CLIENT_ID);
  const grant = new provider.Grant({ accountId: 'auth0|ada', clientId: CLIENT_ID });
  grant.addOIDCScope(SCOPE);
  const grantId = await grant.save();
  const refreshToken = new provider.RefreshToken({
    accountId: 'auth0|ada',
    authTime: Math.floor(Date.now() / 1000),
    client,
    grantId,
    gty: 'authorization_code',
    rotations: 0,
    scope: SCOPE,
  });
  const value = await refreshToken.save();
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ refresh_token: value }));
}

const handle = provider.callback();
const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/_bench/seed') {
    seed(res).catch((err) => {
      res.writeHead(500);
      res.end(String(err));
    });
    return;
  }
  handle(req, res);
});
server.keepAliveTimeout = 75_000;
server.listen(port, '127.0.0.1', () => {
  console.log(`peer listening on ${issuer}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
