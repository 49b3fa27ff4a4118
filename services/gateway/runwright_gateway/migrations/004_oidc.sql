-- Single sign-on through OpenID Connect: the provider's subjects linked to accounts, and the
-- sign-ins under way (state, nonce and PKCE verifier kept here, so any replica can finish one).

-- A provider's subject (iss + sub) is one account; an account may have several (providers).
CREATE TABLE gateway.oidc_identities (
    issuer         text        NOT NULL,
    subject        text        NOT NULL,
    user_id        uuid        NOT NULL REFERENCES gateway.users (id) ON DELETE CASCADE,
    email          text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_signin_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX oidc_identities_user_idx ON gateway.oidc_identities (user_id);

-- A sign-in sent to the provider and not yet back. The browser holds the state in a cookie; only
-- its SHA-256 is kept here. A row is used once (deleted when the provider answers) and is good
-- for ten minutes.
CREATE TABLE gateway.oidc_logins (
    digest     bytea       PRIMARY KEY,
    nonce      text        NOT NULL,
    verifier   text        NOT NULL,
    redirect   text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX oidc_logins_expires_idx ON gateway.oidc_logins (expires_at);
