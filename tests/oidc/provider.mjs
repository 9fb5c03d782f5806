// A real OpenID Connect provider for Tocsin's single sign-on tests: panva/oidc-provider (the
// certified Node implementation) with one static confidential client and accounts whose claims
// the test names on the command line. Its development login form takes any login name; the
// account "verified" has email_verified true, "unverified" false. Consent is granted up front
// (loadExistingGrant), as a company's own identity provider does for its own apps.
//
//   node provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI EMAIL
import Provider from "oidc-provider";

const [port, clientId, clientSecret, redirectUri, email] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const accounts = {
  verified: { sub: "verified", email, email_verified: true, name: "Sso Person" },
  unverified: { sub: "unverified", email, email_verified: false, name: "Sso Person" },
};

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
    },
  ],
  pkce: { required: () => true },
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  async findAccount(ctx, id) {
    const claims = accounts[id] ?? { sub: id, email: `${id}@elsewhere.test`, email_verified: true };
    return { accountId: id, async claims() { return claims; } };
  },
  async loadExistingGrant(ctx) {
    const accountId = ctx.oidc.session?.accountId;
    if (!accountId) return undefined; // not signed in yet: the login prompt comes first
    const existing = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (existing) return ctx.oidc.provider.Grant.find(existing);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId,
    });
    grant.addOIDCScope("openid email profile");
    await grant.save();
    return grant;
  },
});
provider.on("server_error", (ctx, error) => console.error("server_error", error));
provider.listen(Number(port), "127.0.0.1", () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
