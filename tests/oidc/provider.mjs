// A real OpenID Connect provider (panva/oidc-provider) for the portal's tests, on loopback only.
// Configuration arrives as JSON in OIDC_CONFIG: { port, issuer, clients, accounts, jwks, cookieKeys }.
// Accounts sign in through the provider's development interaction pages (login, then consent).
import Provider from 'oidc-provider';

const config = JSON.parse(process.env.OIDC_CONFIG);

// config.mode: "default" leaves oidc-provider as it ships (conformIdTokenClaims on: claims asked for
// by scope come from the UserInfo endpoint only, not in the ID token, as the specification says);
// "keycloak" behaves as Keycloak does by default: the scope's claims in the ID token as well, with
// Keycloak's profile claims (preferred_username, given_name, family_name).
const options = {
  clients: config.clients,
  jwks: config.jwks,
  cookies: { keys: config.cookieKeys },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    // Custom claims ride on the profile scope, as an enterprise IdP would be configured to send them.
    profile: ['name', 'preferred_username', 'given_name', 'family_name', 'portal_roles', 'portal_clearance'],
  },
  scopes: ['openid', 'email', 'profile'],
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  pkce: { required: () => true },
  async findAccount(ctx, id) {
    const account = config.accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: account.sub || id, ...account.claims };
      },
    };
  },
  ttl: { Interaction: 600, Session: 3600, Grant: 3600, AuthorizationCode: 60, AccessToken: 600, IdToken: 600 },
};
if (config.mode === 'keycloak') options.conformIdTokenClaims = false;
const provider = new Provider(config.issuer, options);

provider.listen(config.port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${config.issuer}`);
});
