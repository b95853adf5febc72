// Drives Muster's Logto Management API with the official @logto/api client, as a Logto
// integration pointed at Muster would: an M2M token from /oidc/token, then every user call
// an integration makes, each answer asserted. Run by .ci/logto; exits non-zero on the first
// failure, naming the step, what was sent and what came back.
//
// Environment: MUSTER_URL (http://127.0.0.1:PORT), LOGTO_CLIENT_ID, LOGTO_CLIENT_SECRET,
// MUSTER_BACKEND (`sqlite` or `postgres`: similar_to/posix must work on PostgreSQL and be a
// clear 400 on SQLite).

import assert from 'node:assert/strict';
import { createManagementApi } from '@logto/api/management';
import bcrypt from 'bcryptjs';

const baseUrl = need('MUSTER_URL').replace(/\/$/, '');
const clientId = need('LOGTO_CLIENT_ID');
const clientSecret = need('LOGTO_CLIENT_SECRET');
const backend = process.env.MUSTER_BACKEND ?? 'sqlite';
assert.ok(['sqlite', 'postgres'].includes(backend), `MUSTER_BACKEND=${backend}`);

function need(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`logto_check: ${name} is not set`);
    process.exit(2);
  }
  return v;
}

// The client warns (console.warn) when the token's scope is not `all`: count the warnings.
const warnings = [];
const warn = console.warn;
console.warn = (...a) => {
  warnings.push(a.join(' '));
  warn(...a);
};

const { apiClient: api, clientCredentials } = createManagementApi('default', {
  clientId,
  clientSecret,
  baseUrl,
  apiIndicator: 'https://default.logto.app/api',
});

let passed = 0;
async function step(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok ${passed} - ${name}`);
  } catch (e) {
    console.log(`not ok ${passed + 1} - ${name}`);
    console.log(e?.stack ?? String(e));
    console.log(`logto @logto/api (${backend}): ${passed} passed, 1 failed`);
    process.exit(1);
  }
}

/** Assert a call answered `status`; on a mismatch show the whole answer. */
function expectStatus(res, status, what) {
  const got = res.response.status;
  if (got !== status) {
    assert.fail(
      `${what}: expected HTTP ${status}, got ${got} ${JSON.stringify(res.error ?? res.data)}`,
    );
  }
}

/** A Logto error body: `{code, message}` with the code expected. */
function expectError(res, status, code, what) {
  expectStatus(res, status, what);
  const body = res.error;
  assert.equal(typeof body, 'object', `${what}: error body is JSON, got ${JSON.stringify(body)}`);
  assert.equal(body.code, code, `${what}: code (body ${JSON.stringify(body)})`);
  assert.equal(typeof body.message, 'string', `${what}: message`);
  assert.ok(body.message.length > 0, `${what}: message is not empty`);
  assert.match(
    res.response.headers.get('content-type') ?? '',
    /application\/json/,
    `${what}: content-type`,
  );
  return body;
}

const USER_KEYS = [
  'id', 'username', 'primaryEmail', 'primaryPhone', 'name', 'avatar', 'customData',
  'identities', 'lastSignInAt', 'createdAt', 'updatedAt', 'profile', 'applicationId',
  'isSuspended', 'hasPassword',
];

/** The user object of vendor-apis.md §1.3, as @logto/api's types declare it. */
function checkUser(u, what) {
  assert.equal(typeof u, 'object', `${what}: a user object`);
  for (const k of USER_KEYS) assert.ok(k in u, `${what}: key ${k} missing in ${JSON.stringify(u)}`);
  assert.equal(typeof u.id, 'string');
  for (const k of ['username', 'primaryEmail', 'primaryPhone', 'name', 'avatar', 'applicationId']) {
    assert.ok(u[k] === null || typeof u[k] === 'string', `${what}: ${k} is string|null`);
  }
  assert.ok(u.lastSignInAt === null || Number.isFinite(u.lastSignInAt), `${what}: lastSignInAt`);
  for (const k of ['createdAt', 'updatedAt']) {
    assert.ok(Number.isInteger(u[k]), `${what}: ${k} is epoch ms, got ${u[k]}`);
    // Epoch milliseconds, not seconds: within a day of now.
    assert.ok(Math.abs(u[k] - Date.now()) < 86_400_000, `${what}: ${k}=${u[k]} is not near now in ms`);
  }
  assert.equal(typeof u.customData, 'object');
  assert.ok(!Array.isArray(u.customData));
  assert.equal(typeof u.identities, 'object');
  for (const [t, i] of Object.entries(u.identities)) {
    assert.equal(typeof i.userId, 'string', `${what}: identities.${t}.userId`);
  }
  assert.equal(typeof u.profile, 'object');
  assert.equal(typeof u.isSuspended, 'boolean');
  assert.equal(typeof u.hasPassword, 'boolean');
  assert.ok(!('passwordDigest' in u) || u.passwordDigest === undefined, `${what}: no digest shown`);
  return u;
}

/** `Link` (RFC 8288) as {rel: URL}. */
function parseLink(header) {
  assert.ok(header, 'Link header present');
  const out = {};
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = part.trim().match(/^<([^>]+)>\s*;\s*rel="([^"]+)"$/);
    assert.ok(m, `Link part is <url>; rel="..": ${part}`);
    out[m[2]] = new URL(m[1]);
  }
  return out;
}

/** A URL's query as the client's `params.query` (repeated keys as arrays). */
function queryOf(url) {
  const q = {};
  for (const [k, v] of url.searchParams) {
    if (k in q) q[k] = [].concat(q[k], v);
    else q[k] = v;
  }
  return q;
}

async function listUsers(query) {
  const res = await api.GET('/api/users', { params: { query } });
  return res;
}

async function listOk(query, what) {
  const res = await listUsers(query);
  expectStatus(res, 200, what);
  assert.ok(Array.isArray(res.data), `${what}: an array`);
  res.data.forEach((u, i) => checkUser(u, `${what}[${i}]`));
  const total = res.response.headers.get('total-number');
  assert.match(total ?? '', /^\d+$/, `${what}: Total-Number header`);
  return { users: res.data, total: Number(total), res };
}

const usernames = (users) => users.map((u) => u.username).sort();

// ---- the run ----
const run = `r${Date.now().toString(36)}`;
const P = `ci_${run}`; // every username of this run starts with it
const alice = { username: `${P}_alice`, email: `alice.${run}@example.com`, password: 'Wonder-land-1' };
const bob = { username: `${P}_bob`, email: `bob.${run}@example.com`, password: 'Imported-pw-2' };
const BULK = 23; // with alice, bob and carol: 26 users, 4 pages of 7
const ids = {};

await step('M2M token: POST /oidc/token (client_secret_post, resource, scope=all)', async () => {
  const t = await clientCredentials.getAccessToken();
  assert.equal(typeof t.value, 'string');
  assert.ok(t.value.length > 20, 'an access token');
  assert.equal(t.scope, 'all', 'the token answer echoes scope "all"');
  assert.ok(t.expiresAt > Date.now() / 1000 + 60, 'expires_in leaves more than the 60 s leeway');
});

await step('a wrong client secret: the client throws ClientCredentialsError', async () => {
  const { clientCredentials: bad } = createManagementApi('default', {
    clientId,
    clientSecret: `${clientSecret}x`,
    baseUrl,
    apiIndicator: 'https://default.logto.app/api',
  });
  await assert.rejects(bad.getAccessToken(), (e) => {
    assert.equal(e.name, 'ClientCredentialsError');
    assert.match(e.message, /Failed to fetch access token: 401/);
    return true;
  });
});

await step('POST /api/users with password: 200 and the user object', async () => {
  const res = await api.POST('/api/users', {
    body: {
      username: alice.username,
      primaryEmail: alice.email,
      primaryPhone: '15550001',
      name: 'Alice Liddell',
      password: alice.password,
      customData: { team: 'wonder', level: 1 },
      profile: { givenName: 'Alice', familyName: 'Liddell', website: 'https://alice.example' },
    },
  });
  expectStatus(res, 200, 'create alice');
  const u = checkUser(res.data, 'create alice');
  assert.equal(u.username, alice.username);
  assert.equal(u.primaryEmail, alice.email);
  assert.equal(u.primaryPhone, '15550001');
  assert.equal(u.name, 'Alice Liddell');
  assert.equal(u.hasPassword, true);
  assert.equal(u.isSuspended, false);
  assert.deepEqual(u.customData, { team: 'wonder', level: 1 });
  assert.deepEqual(u.identities, {});
  assert.equal(u.profile.givenName, 'Alice');
  assert.equal(u.profile.familyName, 'Liddell');
  assert.equal(u.profile.website, 'https://alice.example');
  assert.equal(u.lastSignInAt, null);
  ids.alice = u.id;
});

await step('POST /api/users with an imported bcrypt passwordDigest (Bcrypt)', async () => {
  const digest = bcrypt.hashSync(bob.password, 4);
  assert.match(digest, /^\$2[aby]\$04\$/);
  const res = await api.POST('/api/users', {
    body: {
      username: bob.username,
      primaryEmail: bob.email,
      name: 'Bob Builder',
      passwordDigest: digest,
      passwordAlgorithm: 'Bcrypt',
    },
  });
  expectStatus(res, 200, 'create bob');
  const u = checkUser(res.data, 'create bob');
  assert.equal(u.hasPassword, true);
  assert.ok(!('passwordDigest' in u), 'the digest is not shown');
  ids.bob = u.id;
});

await step('POST /api/users without password; bulk users for paging', async () => {
  const res = await api.POST('/api/users', { body: { username: `${P}_carol`, name: 'carol' } });
  expectStatus(res, 200, 'create carol');
  assert.equal(checkUser(res.data, 'carol').hasPassword, false);
  ids.carol = res.data.id;
  for (let i = 0; i < BULK; i += 1) {
    const r = await api.POST('/api/users', {
      body: { username: `${P}_bulk${String(i).padStart(2, '0')}`, name: `Bulk ${i}` },
    });
    expectStatus(r, 200, `create bulk ${i}`);
  }
});

await step('GET /api/users/{userId}', async () => {
  const res = await api.GET('/api/users/{userId}', { params: { path: { userId: ids.alice } } });
  expectStatus(res, 200, 'get alice');
  const u = checkUser(res.data, 'get alice');
  assert.equal(u.id, ids.alice);
  assert.equal(u.username, alice.username);
  assert.equal(u.profile.givenName, 'Alice');
});

await step('GET /api/users/{userId}/has-password', async () => {
  for (const [who, want] of [['alice', true], ['bob', true], ['carol', false]]) {
    const res = await api.GET('/api/users/{userId}/has-password', {
      params: { path: { userId: ids[who] } },
    });
    expectStatus(res, 200, `has-password ${who}`);
    assert.deepEqual(res.data, { hasPassword: want }, who);
  }
});

await step('search like with %: search.username=<prefix>%', async () => {
  const { users, total } = await listOk({ 'search.username': `${P}%`, page_size: 100 }, 'like %');
  assert.equal(total, BULK + 3);
  assert.equal(users.length, BULK + 3);
  assert.ok(users.every((u) => u.username.startsWith(P)));
});

await step('search like without %: no implicit wildcards, case-insensitive', async () => {
  let r = await listOk({ 'search.username': P }, 'like no wildcard');
  assert.equal(r.total, 0, 'a bare prefix matches nothing');
  r = await listOk({ 'search.username': alice.username.toUpperCase() }, 'like exact-case');
  assert.deepEqual(usernames(r.users), [alice.username]);
  // `_` is a wildcard in like; `\_` escapes it.
  r = await listOk({ 'search.username': `${P}_bob` .replace(/_bob$/, '_b_b') }, 'like _');
  assert.deepEqual(usernames(r.users), [bob.username]);
  r = await listOk({ 'search.username': `${P}\\_b_b` }, 'like \\_');
  assert.deepEqual(usernames(r.users), [bob.username]);
  r = await listOk({ 'search.username': `${P}\\_b\\_b` }, 'like escaped _ matches only _');
  assert.equal(r.total, 0);
});

await step('search=<v> (all five fields, OR-ed)', async () => {
  let r = await listOk({ search: `%${run}%` }, 'search all fields');
  assert.equal(r.total, BULK + 3, 'the run id is in every username');
  r = await listOk({ search: `%liddell%` , 'search.username': `${P}%`, joint: 'and' }, 'search + field');
  assert.deepEqual(usernames(r.users), [alice.username]);
  r = await listOk({ search: alice.email.toUpperCase() }, 'search by email, no wildcard');
  assert.deepEqual(usernames(r.users), [alice.username]);
  r = await listOk({ search: '15550001' }, 'search by phone');
  assert.deepEqual(usernames(r.users), [alice.username]);
  r = await listOk({ search: ids.bob, mode: 'exact' }, 'search by id, exact');
  assert.deepEqual(usernames(r.users), [bob.username]);
});

await step('search exact with several values (search.<field> repeated, mode.<field>=exact)', async () => {
  let r = await listOk(
    { 'search.username': [alice.username, bob.username, `${P}_nobody`], 'mode.username': 'exact' },
    'exact several',
  );
  assert.deepEqual(usernames(r.users), [alice.username, bob.username]);
  r = await listOk({ 'search.id': [ids.alice, ids.carol], 'mode.id': 'exact' }, 'batch by id');
  assert.deepEqual(r.users.map((u) => u.id).sort(), [ids.alice, ids.carol].sort());
  r = await listOk(
    { 'search.primaryEmail': [alice.email.toUpperCase(), bob.email], mode: 'exact' },
    'exact email case-insensitive',
  );
  assert.deepEqual(usernames(r.users), [alice.username, bob.username]);
});

await step('isCaseSensitive=true', async () => {
  let r = await listOk(
    { 'search.username': alice.username.toUpperCase(), 'mode.username': 'exact', isCaseSensitive: 'true' },
    'exact case-sensitive, other case',
  );
  assert.equal(r.total, 0);
  r = await listOk(
    { 'search.username': alice.username, 'mode.username': 'exact', isCaseSensitive: 'true' },
    'exact case-sensitive, same case',
  );
  assert.deepEqual(usernames(r.users), [alice.username]);
  r = await listOk({ 'search.name': 'alice%', isCaseSensitive: 'true' }, 'like case-sensitive');
  assert.equal(r.total, 0, '"alice%" does not match "Alice Liddell" case-sensitively');
  r = await listOk({ 'search.name': 'Alice%', isCaseSensitive: 'true' }, 'like case-sensitive hit');
  assert.deepEqual(usernames(r.users), [alice.username]);
  r = await listOk({ 'search.name': 'alice%', isCaseSensitive: 'false' }, 'like case-insensitive');
  assert.deepEqual(usernames(r.users), [alice.username]);
});

await step('joint=and / joint=or (and jointMode)', async () => {
  const q = { 'search.username': alice.username, 'search.primaryEmail': bob.email };
  let r = await listOk({ ...q, joint: 'and' }, 'joint and');
  assert.equal(r.total, 0);
  r = await listOk({ ...q, joint: 'or' }, 'joint or');
  assert.deepEqual(usernames(r.users), [alice.username, bob.username]);
  r = await listOk(q, 'joint default (or)');
  assert.equal(r.total, 2);
  r = await listOk({ ...q, jointMode: 'and' }, 'jointMode and');
  assert.equal(r.total, 0);
  r = await listOk(
    { 'search.username': alice.username, 'search.primaryEmail': alice.email, joint: 'and' },
    'joint and, both hold',
  );
  assert.deepEqual(usernames(r.users), [alice.username]);
});

await step(`similar_to / posix on ${backend}`, async () => {
  const sim = { 'search.username': `${P}_(alice|bob)`, 'mode.username': 'similar_to', isCaseSensitive: 'true' };
  const pos = { 'search.username': `^${P}_(alice|bob)$`, 'mode.username': 'posix' };
  // similar_to needs isCaseSensitive=true on any backend (Logto's rule).
  expectError(
    await listUsers({ ...sim, isCaseSensitive: 'false' }),
    400,
    'request.invalid_input',
    'similar_to case-insensitive',
  );
  // Both backends run them (SQLite through the regex crate), with Logto's message for a bad one.
  let r = await listOk(sim, 'similar_to');
  assert.deepEqual(usernames(r.users), [alice.username, bob.username]);
  r = await listOk(pos, 'posix (case-insensitive ~*)');
  assert.deepEqual(usernames(r.users), [alice.username, bob.username]);
  r = await listOk({ ...pos, 'search.username': pos['search.username'].toUpperCase() }, 'posix ~* other case');
  assert.equal(r.total, 2);
  r = await listOk(
    { ...pos, 'search.username': pos['search.username'].toUpperCase(), isCaseSensitive: 'true' },
    'posix ~ other case',
  );
  assert.equal(r.total, 0);
  const body = expectError(
    await listUsers({ ...sim, isCaseSensitive: 'false' }),
    400,
    'request.invalid_input',
    'similar_to case-insensitive',
  );
  assert.equal(body.message, 'Input is invalid. Cannot use case-insensitive match for `similar to`.');
});

await step('walk every page: Total-Number and Link first/prev/next/last', async () => {
  const size = 7;
  const query = { 'search.username': `${P}%`, page_size: size };
  let res = await listUsers(query);
  const seen = [];
  let pages = 0;
  let total;
  let lastLinks;
  for (;;) {
    expectStatus(res, 200, `page ${pages + 1}`);
    pages += 1;
    assert.ok(pages <= 10, 'the walk ends');
    const t = Number(res.response.headers.get('total-number'));
    if (total === undefined) total = t;
    assert.equal(t, total, 'Total-Number is the same on every page');
    const links = parseLink(res.response.headers.get('link'));
    lastLinks = links;
    for (const rel of ['first', 'last']) assert.ok(links[rel], `rel="${rel}" on page ${pages}`);
    for (const rel of Object.keys(links)) {
      assert.equal(`${links[rel].origin}${links[rel].pathname}`, `${baseUrl}/api/users`, `${rel} URL`);
      assert.equal(links[rel].searchParams.get('search.username'), `${P}%`, `${rel} keeps the search`);
      assert.equal(links[rel].searchParams.get('page_size'), String(size), `${rel} keeps page_size`);
    }
    assert.equal(links.first.searchParams.get('page'), '1');
    assert.equal(links.last.searchParams.get('page'), String(Math.ceil(total / size)));
    assert.equal(!!links.prev, pages > 1, `rel="prev" iff past page 1 (page ${pages})`);
    if (links.prev) assert.equal(links.prev.searchParams.get('page'), String(pages - 1));
    res.data.forEach((u) => checkUser(u, `page ${pages}`));
    seen.push(...res.data);
    if (!links.next) break;
    assert.equal(res.data.length, size, `a full page before the last (page ${pages})`);
    assert.equal(links.next.searchParams.get('page'), String(pages + 1));
    res = await listUsers(queryOf(links.next));
  }
  assert.equal(total, BULK + 3, 'Total-Number counts every match');
  assert.equal(pages, Math.ceil(total / size), 'one page per Link step');
  assert.equal(seen.length, total, 'the pages hold Total-Number users');
  assert.equal(new Set(seen.map((u) => u.id)).size, total, 'no user twice');
  for (let i = 1; i < seen.length; i += 1) {
    assert.ok(seen[i - 1].createdAt >= seen[i].createdAt, 'newest first');
  }
  // Past the end: 200 and [].
  const beyond = await listOk({ ...query, page: pages + 1 }, 'page past the end');
  assert.deepEqual(beyond.users, []);
  assert.equal(beyond.total, total);
  assert.ok(parseLink(beyond.res.response.headers.get('link')).prev, 'prev past the end');
  assert.ok(lastLinks.last);
  // Defaults: page 1 of 20.
  const def = await listOk({ 'search.username': `${P}%` }, 'default page size');
  assert.equal(def.users.length, 20);
});

await step('PATCH /api/users/{userId}: partial; customData/profile replaced; null clears', async () => {
  const res = await api.PATCH('/api/users/{userId}', {
    params: { path: { userId: ids.alice } },
    body: { name: 'Alice Pleasance Liddell', customData: { team: 'looking-glass' }, profile: { nickname: 'al' } },
  });
  expectStatus(res, 200, 'patch alice');
  const u = checkUser(res.data, 'patch alice');
  assert.equal(u.name, 'Alice Pleasance Liddell');
  assert.equal(u.username, alice.username, 'untouched fields stay');
  assert.equal(u.primaryEmail, alice.email);
  assert.deepEqual(u.customData, { team: 'looking-glass' }, 'customData replaced whole');
  assert.deepEqual(u.profile, { nickname: 'al' }, 'profile replaced whole');
  assert.ok(u.updatedAt >= u.createdAt);
  const cleared = await api.PATCH('/api/users/{userId}', {
    params: { path: { userId: ids.alice } },
    body: { primaryPhone: null },
  });
  expectStatus(cleared, 200, 'clear phone');
  assert.equal(cleared.data.primaryPhone, null);
  const got = await api.GET('/api/users/{userId}', { params: { path: { userId: ids.alice } } });
  assert.equal(got.data.name, 'Alice Pleasance Liddell');
  assert.equal(got.data.primaryPhone, null);
});

await step('422 user.username_already_in_use / user.email_already_in_use', async () => {
  expectError(
    await api.POST('/api/users', { body: { username: alice.username } }),
    422,
    'user.username_already_in_use',
    'create with a taken username',
  );
  expectError(
    await api.POST('/api/users', { body: { username: alice.username.toUpperCase() } }),
    422,
    'user.username_already_in_use',
    'usernames are taken case-insensitively',
  );
  expectError(
    await api.POST('/api/users', { body: { primaryEmail: alice.email.toUpperCase() } }),
    422,
    'user.email_already_in_use',
    'create with a taken email',
  );
  expectError(
    await api.PATCH('/api/users/{userId}', {
      params: { path: { userId: ids.bob } },
      body: { username: alice.username },
    }),
    422,
    'user.username_already_in_use',
    'rename to a taken username',
  );
});

await step('PATCH .../password then POST .../password/verify: 204 on match, 422 on mismatch', async () => {
  const path = { userId: ids.alice };
  let res = await api.POST('/api/users/{userId}/password/verify', { params: { path }, body: { password: alice.password } });
  expectStatus(res, 204, 'verify the password given at create');
  const changed = await api.PATCH('/api/users/{userId}/password', { params: { path }, body: { password: 'Through-glass-3' } });
  expectStatus(changed, 200, 'set password');
  assert.equal(checkUser(changed.data, 'set password').hasPassword, true);
  res = await api.POST('/api/users/{userId}/password/verify', { params: { path }, body: { password: 'Through-glass-3' } });
  expectStatus(res, 204, 'verify the new password');
  assert.equal(res.data, undefined);
  res = await api.POST('/api/users/{userId}/password/verify', { params: { path }, body: { password: alice.password } });
  expectStatus(res, 422, 'the old password no longer verifies');
  // Carol has no password: 422 too.
  res = await api.POST('/api/users/{userId}/password/verify', {
    params: { path: { userId: ids.carol } },
    body: { password: 'anything' },
  });
  expectStatus(res, 422, 'verify without a password');
});

await step('verify the imported bcrypt digest', async () => {
  const path = { userId: ids.bob };
  let res = await api.POST('/api/users/{userId}/password/verify', { params: { path }, body: { password: bob.password } });
  expectStatus(res, 204, 'imported digest, right password');
  res = await api.POST('/api/users/{userId}/password/verify', { params: { path }, body: { password: `${bob.password}!` } });
  expectStatus(res, 422, 'imported digest, wrong password');
});

await step('PATCH .../is-suspended: suspend and unsuspend', async () => {
  const path = { userId: ids.bob };
  let res = await api.PATCH('/api/users/{userId}/is-suspended', { params: { path }, body: { isSuspended: true } });
  expectStatus(res, 200, 'suspend');
  assert.equal(checkUser(res.data, 'suspend').isSuspended, true);
  res = await api.GET('/api/users/{userId}', { params: { path } });
  assert.equal(res.data.isSuspended, true, 'GET shows the suspension');
  res = await api.PATCH('/api/users/{userId}/is-suspended', { params: { path }, body: { isSuspended: false } });
  expectStatus(res, 200, 'unsuspend');
  assert.equal(res.data.isSuspended, false);
});

await step('PUT and DELETE .../identities/{target}', async () => {
  const path = { userId: ids.alice, target: 'github' };
  let res = await api.PUT('/api/users/{userId}/identities/{target}', {
    params: { path },
    body: { userId: 'gh-1001', details: { login: 'alice' } },
  });
  expectStatus(res, 201, 'a new identity: 201');
  assert.deepEqual(res.data, { github: { userId: 'gh-1001', details: { login: 'alice' } } });
  res = await api.PUT('/api/users/{userId}/identities/{target}', {
    params: { path },
    body: { userId: 'gh-1002' },
  });
  expectStatus(res, 200, 'a replaced identity: 200');
  assert.equal(res.data.github.userId, 'gh-1002');
  res = await api.GET('/api/users/{userId}', { params: { path: { userId: ids.alice } } });
  assert.equal(res.data.identities.github.userId, 'gh-1002', 'GET shows the identity');
  res = await api.DELETE('/api/users/{userId}/identities/{target}', { params: { path } });
  expectStatus(res, 200, 'delete identity: 200 and the user');
  assert.deepEqual(checkUser(res.data, 'delete identity').identities, {});
  expectError(
    await api.DELETE('/api/users/{userId}/identities/{target}', { params: { path } }),
    404,
    'user.identity_not_exist',
    'delete a missing identity',
  );
});

await step('PATCH .../custom-data merges; GET .../custom-data', async () => {
  const path = { userId: ids.alice };
  const res = await api.PATCH('/api/users/{userId}/custom-data', {
    params: { path },
    body: { customData: { level: 2, tags: ['a', 'b'] } },
  });
  expectStatus(res, 200, 'merge custom data');
  assert.deepEqual(res.data, { team: 'looking-glass', level: 2, tags: ['a', 'b'] });
  const got = await api.GET('/api/users/{userId}/custom-data', { params: { path } });
  expectStatus(got, 200, 'get custom data');
  assert.deepEqual(got.data, { team: 'looking-glass', level: 2, tags: ['a', 'b'] });
  const u = await api.GET('/api/users/{userId}', { params: { path } });
  assert.deepEqual(u.data.customData, got.data);
});

await step('GET /api/logs?userId=: every change, Logto keys, paging headers', async () => {
  const res = await api.GET('/api/logs', { params: { query: { userId: ids.alice, page_size: 100 } } });
  expectStatus(res, 200, 'list logs');
  assert.ok(Array.isArray(res.data));
  const total = Number(res.response.headers.get('total-number'));
  assert.equal(total, res.data.length, 'Total-Number');
  parseLink(res.response.headers.get('link'));
  for (const log of res.data) {
    for (const k of ['id', 'key', 'payload', 'createdAt']) assert.ok(k in log, `log key ${k}: ${JSON.stringify(log)}`);
    assert.equal(typeof log.id, 'string');
    assert.ok(Number.isInteger(log.createdAt) && Math.abs(log.createdAt - Date.now()) < 86_400_000, 'createdAt in ms');
    assert.equal(log.payload.key, log.key, 'payload.key');
    assert.equal(log.payload.result, 'Success');
    assert.equal(log.payload.userId, ids.alice, 'payload.userId');
    assert.equal(typeof log.payload.applicationId, 'string');
  }
  const keys = new Set(res.data.map((l) => l.key));
  for (const k of ['User.Created', 'User.Data.Updated']) {
    assert.ok(keys.has(k), `a ${k} log for alice (keys: ${[...keys].join(', ')})`);
  }
  // Bob's suspension.
  const bobs = await api.GET('/api/logs', {
    params: { query: { userId: ids.bob, logKey: 'User.SuspensionStatus.Updated' } },
  });
  expectStatus(bobs, 200, 'logs by key');
  assert.equal(bobs.data.length, 2, 'suspend and unsuspend');
  assert.ok(bobs.data.every((l) => l.key === 'User.SuspensionStatus.Updated' && l.payload.userId === ids.bob));
  assert.ok(bobs.data[0].createdAt >= bobs.data[1].createdAt, 'newest first');
  const one = await api.GET('/api/logs/{id}', { params: { path: { id: bobs.data[0].id } } });
  expectStatus(one, 200, 'GET /api/logs/{id}');
  assert.equal(one.data.id, bobs.data[0].id);
});

await step('DELETE /api/users/{userId}: 204, then 404 entity.not_found', async () => {
  const path = { userId: ids.carol };
  const res = await api.DELETE('/api/users/{userId}', { params: { path } });
  expectStatus(res, 204, 'delete');
  assert.equal(res.data, undefined);
  const body = expectError(
    await api.GET('/api/users/{userId}', { params: { path } }),
    404,
    'entity.not_found',
    'get a deleted user',
  );
  assert.equal(body.message, 'The resource does not exist.');
  expectError(
    await api.DELETE('/api/users/{userId}', { params: { path } }),
    404,
    'entity.not_found',
    'delete again',
  );
  expectError(
    await api.PATCH('/api/users/{userId}', { params: { path }, body: { name: 'x' } }),
    404,
    'entity.not_found',
    'patch a deleted user',
  );
  const logs = await api.GET('/api/logs', { params: { query: { userId: ids.carol, logKey: 'User.Deleted' } } });
  expectStatus(logs, 200, 'the deletion is logged');
  assert.equal(logs.data.length, 1);
});

await step('4xx bodies: pagination, search input, body rules', async () => {
  for (const q of [{ page_size: 101 }, { page_size: 0 }, { page: 0 }, { page: 'x' }]) {
    expectError(await listUsers(q), 400, 'guard.invalid_pagination', `list ${JSON.stringify(q)}`);
  }
  expectError(await api.GET('/api/logs', { params: { query: { page_size: 101 } } }), 400, 'guard.invalid_pagination', 'logs page_size=101');
  for (const q of [
    { 'search.customData': 'x' },
    { 'search.name': '' },
    { 'search.name': 'a', mode: 'regex' },
    { 'search.name': 'a', joint: 'xor' },
    { 'search.name': ['a', 'b'] },
  ]) {
    expectError(await listUsers(q), 400, 'request.invalid_input', `list ${JSON.stringify(q)}`);
  }
  const both = await api.POST('/api/users', {
    body: { username: `${P}_dave`, password: 'x', passwordDigest: 'y', passwordAlgorithm: 'MD5' },
  });
  expectError(both, 400, 'user.password_and_digest', 'password and digest');
  const noAlg = await api.POST('/api/users', { body: { username: `${P}_dave`, passwordDigest: 'y' } });
  expectError(noAlg, 400, 'user.password_algorithm_required', 'digest without algorithm');
  expectError(
    await api.POST('/api/users', { body: { username: '1-not-a-username' } }),
    400,
    'guard.invalid_input',
    'a username against ^[A-Z_a-z]\\w*$',
  );
  expectError(
    await api.PATCH('/api/users/{userId}/is-suspended', { params: { path: { userId: ids.bob } }, body: { isSuspended: 'yes' } }),
    400,
    'guard.invalid_input',
    'isSuspended not a boolean',
  );
  expectError(
    await api.GET('/api/users/{userId}', { params: { path: { userId: 'nope0000nope' } } }),
    404,
    'entity.not_found',
    'an unknown id',
  );
});

await step('401 bodies: no Authorization, a bad token, not Bearer', async () => {
  const call = async (headers) => {
    const r = await fetch(`${baseUrl}/api/users`, { headers });
    const text = await r.text();
    let error;
    try { error = JSON.parse(text); } catch { error = text; }
    return { response: r, error };
  };
  expectError(await call({}), 401, 'auth.authorization_header_missing', 'no Authorization');
  expectError(await call({ Authorization: 'Bearer not-a-token' }), 401, 'auth.unauthorized', 'a bad token');
  expectError(
    await call({ Authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` }),
    401,
    'auth.authorization_token_type_not_supported',
    'Basic on the API',
  );
});

await step('the client never warned about the token scope', async () => {
  assert.deepEqual(warnings, []);
});

console.log(`logto @logto/api (${backend}): ${passed} passed, 0 failed`);
