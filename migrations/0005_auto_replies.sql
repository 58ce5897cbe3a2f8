-- The automatic answers to STOP, START and HELP, kept as messages so a
-- contact's conversation shows what they were told (issue 11, "a message log
-- people can read"). Twilio sends them from the TwiML the webhook answers with,
-- so there is no provider sid; one reply per inbound message at most.
CREATE TABLE auto_replies (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    contact_id         uuid,
    inbound_message_id uuid NOT NULL CONSTRAINT auto_replies_inbound_key UNIQUE REFERENCES inbound_messages (id) ON DELETE CASCADE,
    to_phone           text NOT NULL CONSTRAINT auto_replies_to_not_blank CHECK (to_phone <> ''),
    from_phone         text NOT NULL CONSTRAINT auto_replies_from_phone_format CHECK (from_phone ~ '^\+[1-9][0-9]{6,14}$'),
    body               text NOT NULL,
    keyword            text NOT NULL CONSTRAINT auto_replies_keyword_check CHECK (keyword IN ('opt_out', 'opt_in', 'help')),
    created_at         timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE SET NULL (contact_id)
);
CREATE INDEX auto_replies_contact_idx ON auto_replies (tenant_id, contact_id);
