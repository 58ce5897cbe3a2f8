-- Members join by invitation (issue 12): adding a member by email reached
-- across tenants, attaching another tenant's user without their consent and
-- telling the inviter whether the email had an account. An owner now creates
-- an invitation (same answer whatever the email); the person logs in as that
-- email and accepts it. Only the token's hash is stored.
CREATE TABLE invitations (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email       text NOT NULL CONSTRAINT invitations_email_format CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    role        text NOT NULL CONSTRAINT invitations_role_check CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    token_hash  text NOT NULL CONSTRAINT invitations_token_hash_key UNIQUE,
    invited_by  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    accepted_by uuid REFERENCES users (id) ON DELETE SET NULL,
    revoked_at  timestamptz
);
CREATE INDEX invitations_tenant_idx ON invitations (tenant_id, created_at);
