// A real OpenID Connect provider for the single sign-on tests: panva's certified oidc-provider with
// its development login and consent pages (any password; the login names an account).
//
//   PORT=...            where it listens (127.0.0.1 only)
//   CLIENTS=[...]       the registered clients, as oidc-provider's client metadata (JSON)
//   ACCOUNTS=<file>     JSON {"<login>": {"email": ..., "email_verified": ..., "groups": [...]}},
//                       read again at each look-up, so a test may add accounts as it goes
import fs from 'node:fs';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const accountsFile = process.env.ACCOUNTS;

const provider = new Provider(issuer, {
  clients: JSON.parse(process.env.CLIENTS),
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  cookies: { keys: ['runwright-tests-only'] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const accounts = JSON.parse(fs.readFileSync(accountsFile, 'utf8'));
    const account = accounts[id];
    if (account === undefined) return undefined;
    return { accountId: id, claims: () => ({ sub: id, ...account }) };
  },
});

provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening on ${issuer}\n`);
});
