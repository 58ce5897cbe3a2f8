-- 0001_init: the initial smscrm schema (PostgreSQL 15). Creates the platform
-- kill switch (platform_settings), tenants and their budgets, users, memberships,
-- sessions and API keys, contacts, lists, CSV imports, do-not-contact, sending
-- numbers and their daily usage, campaigns with their lists and numbers, send
-- jobs, Twilio webhook events, inbound messages and the audit log. Table and
-- column names follow RUNBOOK-SEED.md so the operators' SQL runs unchanged.
-- Conventions: uuid keys from gen_random_uuid(); timestamptz everywhere; enums
-- are text + CHECK; money is US cents; every tenant-owned row carries tenant_id,
-- and children point at tenant-owned parents through (tenant_id, id) so a row
-- can never reference another tenant's row (send_jobs keeps only its campaign
-- FK, for launch speed). schema_migrations belongs to the migrator and is not
-- created here.

-- ---------------------------------------------------------------------------
-- Platform-wide state: one row, the global kill switch (`smscrm pause --all`).
-- ---------------------------------------------------------------------------
CREATE TABLE platform_settings (
    id           boolean PRIMARY KEY DEFAULT true CONSTRAINT platform_settings_single_row CHECK (id),
    paused_at    timestamptz,
    paused_by    text,
    pause_reason text,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO platform_settings DEFAULT VALUES;

-- ---------------------------------------------------------------------------
-- Tenants
-- ---------------------------------------------------------------------------
CREATE TABLE tenants (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                 text NOT NULL CONSTRAINT tenants_name_not_blank CHECK (btrim(name) <> ''),
    timezone             text NOT NULL DEFAULT 'UTC'
                         CONSTRAINT tenants_timezone_format CHECK (timezone ~ '^[A-Za-z][A-Za-z0-9_+/-]{0,63}$'),
    default_country      text NOT NULL DEFAULT 'US'
                         CONSTRAINT tenants_default_country_format CHECK (default_country ~ '^[A-Z]{2}$'),
    daily_budget_cents   bigint CONSTRAINT tenants_daily_budget_nonneg CHECK (daily_budget_cents >= 0),
    monthly_budget_cents bigint CONSTRAINT tenants_monthly_budget_nonneg CHECK (monthly_budget_cents >= 0),
    -- Tenant kill switch: paused while paused_at IS NOT NULL.
    paused_at            timestamptz,
    paused_by            text,
    pause_reason         text,
    -- Default quiet window in the recipient's local time, minutes after midnight.
    quiet_hours_start    smallint NOT NULL DEFAULT 1260,  -- 21:00
    quiet_hours_end      smallint NOT NULL DEFAULT 540,   -- 09:00
    consent_required     boolean NOT NULL DEFAULT true,
    help_text            text,
    opt_out_footer       text,
    opt_out_reply        text,
    opt_in_reply         text,
    advanced_opt_out     boolean NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenants_quiet_hours_range CHECK (quiet_hours_start BETWEEN 0 AND 1439
                                                AND quiet_hours_end BETWEEN 0 AND 1439
                                                AND quiet_hours_start <> quiet_hours_end)
);
COMMENT ON COLUMN tenants.daily_budget_cents IS 'Daily spending cap in US cents, in the tenant''s timezone day. NULL = no cap; 0 = nothing may be sent.';
COMMENT ON COLUMN tenants.monthly_budget_cents IS 'Monthly spending cap in US cents, in the tenant''s timezone month. NULL = no cap; 0 = nothing may be sent.';
COMMENT ON COLUMN tenants.quiet_hours_start IS 'Start of the quiet window, minutes after local midnight (0..1439); window is [start, end), wrapping midnight when start > end.';
COMMENT ON COLUMN tenants.quiet_hours_end IS 'End of the quiet window (first minute sending is allowed again), minutes after local midnight.';
COMMENT ON COLUMN tenants.help_text IS 'Reply to HELP/INFO. NULL = the built-in default text.';
COMMENT ON COLUMN tenants.opt_out_footer IS 'Appended to campaign bodies. NULL = no footer.';
COMMENT ON COLUMN tenants.advanced_opt_out IS 'true = Twilio Advanced Opt-Out already sends STOP/START confirmations, so smscrm sends none.';

-- Spend per tenant. Reservations count as spend; periods are the tenant's local
-- date and the first day of the tenant's local month. A spent value whose period
-- is not the current one is treated as 0 (reset lazily by the reserving UPDATE).
CREATE TABLE budgets (
    tenant_id           uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    daily_spent_cents   numeric(14,4) NOT NULL DEFAULT 0 CONSTRAINT budgets_daily_spent_nonneg CHECK (daily_spent_cents >= 0),
    monthly_spent_cents numeric(14,4) NOT NULL DEFAULT 0 CONSTRAINT budgets_monthly_spent_nonneg CHECK (monthly_spent_cents >= 0),
    daily_period        date NOT NULL DEFAULT CURRENT_DATE,
    monthly_period      date NOT NULL DEFAULT date_trunc('month', CURRENT_DATE)::date
                        CONSTRAINT budgets_monthly_period_first_day CHECK (extract(day FROM monthly_period) = 1),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- Every tenant has exactly one budgets row from birth, so the reserving UPDATE
-- always finds it and the runbook's budget query lists every tenant.
CREATE FUNCTION tenants_create_budget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO budgets (tenant_id, daily_period, monthly_period)
    VALUES (NEW.id,
            (now() AT TIME ZONE NEW.timezone)::date,
            date_trunc('month', now() AT TIME ZONE NEW.timezone)::date)
    ON CONFLICT (tenant_id) DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER tenants_create_budget AFTER INSERT ON tenants
    FOR EACH ROW EXECUTE FUNCTION tenants_create_budget();

-- ---------------------------------------------------------------------------
-- Identity and access
-- ---------------------------------------------------------------------------
CREATE TABLE users (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email             text NOT NULL CONSTRAINT users_email_format CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    display_name      text,
    password_hash     text NOT NULL,  -- bcrypt
    is_platform_admin boolean NOT NULL DEFAULT false,
    disabled_at       timestamptz,
    last_login_at     timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TABLE memberships (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text NOT NULL CONSTRAINT memberships_role_check CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

-- Session tokens and API key secrets are stored only as lowercase hex SHA-256.
CREATE TABLE sessions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash      text NOT NULL UNIQUE CONSTRAINT sessions_token_hash_sha256 CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,  -- absolute expiry
    idle_expires_at timestamptz NOT NULL,  -- pushed forward on use, never past expires_at
    ip              inet,
    user_agent      text,
    CONSTRAINT sessions_idle_within_absolute CHECK (idle_expires_at <= expires_at)
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         text NOT NULL CONSTRAINT api_keys_name_not_blank CHECK (btrim(name) <> ''),
    prefix       text NOT NULL,  -- first characters of the secret, for display only
    key_hash     text NOT NULL UNIQUE CONSTRAINT api_keys_key_hash_sha256 CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    role         text NOT NULL CONSTRAINT api_keys_role_check CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    created_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, created_at);

-- ---------------------------------------------------------------------------
-- Contacts, lists, imports, do-not-contact
-- ---------------------------------------------------------------------------
CREATE TABLE contacts (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    phone_e164        text NOT NULL CONSTRAINT contacts_phone_e164_format CHECK (phone_e164 ~ '^\+[1-9][0-9]{6,14}$'),
    first_name        text,
    last_name         text,
    email             text,
    timezone          text CONSTRAINT contacts_timezone_format CHECK (timezone ~ '^[A-Za-z][A-Za-z0-9_+/-]{0,63}$'),
    consent_at        timestamptz,
    consent_source    text,
    opted_out_at      timestamptz,
    opted_out_source  text,
    attributes        jsonb NOT NULL DEFAULT '{}'
                      CONSTRAINT contacts_attributes_object CHECK (jsonb_typeof(attributes) = 'object'),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT contacts_tenant_phone_key UNIQUE (tenant_id, phone_e164),
    CONSTRAINT contacts_tenant_id_key UNIQUE (tenant_id, id)  -- target of tenant-safe FKs; also the pagination index
);
COMMENT ON COLUMN contacts.timezone IS 'IANA zone of the recipient; NULL = infer from the number, else the tenant timezone.';

CREATE TABLE contact_lists (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        text NOT NULL CONSTRAINT contact_lists_name_not_blank CHECK (btrim(name) <> ''),
    description text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT contact_lists_tenant_name_key UNIQUE (tenant_id, name),
    CONSTRAINT contact_lists_tenant_id_key UNIQUE (tenant_id, id)
);

CREATE TABLE contact_list_members (
    tenant_id  uuid NOT NULL,
    list_id    uuid NOT NULL,
    contact_id uuid NOT NULL,
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (list_id, contact_id),
    FOREIGN KEY (tenant_id, list_id) REFERENCES contact_lists (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_list_members_contact_idx ON contact_list_members (tenant_id, contact_id);

-- A CSV import. The file is stored first and processed in the background; the
-- cursor records the last data row (and its end byte offset in csv_data) whose
-- effects are committed, so a restarted process resumes after it.
CREATE TABLE import_batches (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    status             text NOT NULL DEFAULT 'pending'
                       CONSTRAINT import_batches_status_check CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')),
    filename           text,
    content_type       text,
    csv_data           bytea,  -- raw bytes as uploaded; may be cleared once the import is finished
    size_bytes         bigint NOT NULL DEFAULT 0 CHECK (size_bytes >= 0),
    column_map         jsonb,  -- header -> field mapping, fixed when processing starts
    options            jsonb NOT NULL DEFAULT '{}',  -- e.g. list ids to add rows to, consent source
    total_rows         integer CHECK (total_rows >= 0),  -- NULL until known
    processed_rows     integer NOT NULL DEFAULT 0 CHECK (processed_rows >= 0),
    imported_count     integer NOT NULL DEFAULT 0 CHECK (imported_count >= 0),  -- new contacts
    updated_count      integer NOT NULL DEFAULT 0 CHECK (updated_count >= 0),   -- existing contacts upserted
    rejected_count     integer NOT NULL DEFAULT 0 CHECK (rejected_count >= 0),
    flagged_count      integer NOT NULL DEFAULT 0 CHECK (flagged_count >= 0),   -- imported but on do-not-contact
    cursor_row         integer NOT NULL DEFAULT 0 CHECK (cursor_row >= 0),
    cursor_byte_offset bigint NOT NULL DEFAULT 0 CHECK (cursor_byte_offset >= 0),
    error              text,  -- why the whole import failed (empty file, no phone column, encoding)
    locked_by          text,  -- process currently working on it
    lease_expires_at   timestamptz,
    created_by         uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    started_at         timestamptz,
    completed_at       timestamptz,
    CONSTRAINT import_batches_tenant_id_key UNIQUE (tenant_id, id)
);
-- Uncompressed out-of-line storage: substring(csv_data FROM offset) reads only the chunks it needs.
ALTER TABLE import_batches ALTER COLUMN csv_data SET STORAGE EXTERNAL;
CREATE INDEX import_batches_tenant_created_idx ON import_batches (tenant_id, created_at);
CREATE INDEX import_batches_unfinished_idx ON import_batches (lease_expires_at) WHERE status IN ('pending', 'processing');

CREATE TABLE import_rejections (
    import_id  uuid NOT NULL,
    tenant_id  uuid NOT NULL,
    row_number integer NOT NULL CHECK (row_number >= 1),  -- 1 = first data row after the header
    kind       text NOT NULL DEFAULT 'rejected' CONSTRAINT import_rejections_kind_check CHECK (kind IN ('rejected', 'flagged')),
    reason     text NOT NULL,
    raw        text CONSTRAINT import_rejections_raw_excerpt CHECK (char_length(raw) <= 1000),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (import_id, row_number),
    FOREIGN KEY (tenant_id, import_id) REFERENCES import_batches (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE do_not_contact (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    phone_e164 text NOT NULL CONSTRAINT do_not_contact_phone_e164_format CHECK (phone_e164 ~ '^\+[1-9][0-9]{6,14}$'),
    reason     text NOT NULL,  -- e.g. stop_keyword, manual, twilio_21610
    source     text NOT NULL CONSTRAINT do_not_contact_source_check
               CHECK (source IN ('manual', 'api', 'import', 'inbound', 'provider', 'system')),
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT do_not_contact_tenant_phone_key UNIQUE (tenant_id, phone_e164)
);

-- ---------------------------------------------------------------------------
-- Sending numbers
-- ---------------------------------------------------------------------------
CREATE TABLE sending_numbers (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    phone_e164        text NOT NULL CONSTRAINT sending_numbers_phone_e164_format CHECK (phone_e164 ~ '^\+[1-9][0-9]{6,14}$'),
    kind              text NOT NULL CONSTRAINT sending_numbers_kind_check CHECK (kind IN ('long_code', 'toll_free', 'short_code')),
    throughput_sps    numeric(8,2) NOT NULL CONSTRAINT sending_numbers_throughput_positive CHECK (throughput_sps > 0),
    warmup_schedule   jsonb CONSTRAINT sending_numbers_warmup_array CHECK (jsonb_typeof(warmup_schedule) = 'array'),
    warmup_started_at timestamptz,
    active            boolean NOT NULL DEFAULT true,
    label             text,
    provider_sid      text,  -- Twilio PN… sid, if known
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    -- Unique across the platform: inbound routing maps the number to its tenant.
    CONSTRAINT sending_numbers_phone_e164_key UNIQUE (phone_e164),
    CONSTRAINT sending_numbers_tenant_id_key UNIQUE (tenant_id, id)
);
COMMENT ON COLUMN sending_numbers.throughput_sps IS 'Carrier limit in segments per second (API defaults: long_code 1, toll_free 3, short_code 100).';
COMMENT ON COLUMN sending_numbers.warmup_schedule IS 'JSON array of daily message caps by age in days since warmup_started_at (element 0 = first day); past the end, no cap. NULL = no warmup.';

-- Messages and segments sent per number per day (the tenant's local date), for
-- the warmup gate: reserve with an upsert whose UPDATE checks the cap.
CREATE TABLE sending_number_usage (
    tenant_id         uuid NOT NULL,
    sending_number_id uuid NOT NULL,
    day               date NOT NULL,
    messages          integer NOT NULL DEFAULT 0 CHECK (messages >= 0),
    segments          integer NOT NULL DEFAULT 0 CHECK (segments >= 0),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sending_number_id, day),
    FOREIGN KEY (tenant_id, sending_number_id) REFERENCES sending_numbers (tenant_id, id) ON DELETE CASCADE
);

-- ---------------------------------------------------------------------------
-- Campaigns
-- ---------------------------------------------------------------------------
CREATE TABLE campaigns (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name              text NOT NULL CONSTRAINT campaigns_name_not_blank CHECK (btrim(name) <> ''),
    body_template     text NOT NULL CONSTRAINT campaigns_body_template_length CHECK (char_length(body_template) BETWEEN 1 AND 1600),
    status            text NOT NULL DEFAULT 'draft' CONSTRAINT campaigns_status_check
                      CHECK (status IN ('draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled')),
    -- Campaign quiet window (minutes after local midnight); both NULL = use the tenant's.
    quiet_hours_start smallint,
    quiet_hours_end   smallint,
    scheduled_at      timestamptz,
    launched_at       timestamptz,
    completed_at      timestamptz,
    cancelled_at      timestamptz,
    paused_at         timestamptz,
    paused_by         text,
    created_by        uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT campaigns_quiet_hours_range CHECK (
        (quiet_hours_start IS NULL AND quiet_hours_end IS NULL)
        OR (quiet_hours_start BETWEEN 0 AND 1439 AND quiet_hours_end BETWEEN 0 AND 1439
            AND quiet_hours_start <> quiet_hours_end)),
    CONSTRAINT campaigns_scheduled_needs_time CHECK (status <> 'scheduled' OR scheduled_at IS NOT NULL),
    CONSTRAINT campaigns_tenant_id_key UNIQUE (tenant_id, id)
);
CREATE INDEX campaigns_tenant_created_idx ON campaigns (tenant_id, created_at);
CREATE INDEX campaigns_due_idx ON campaigns (scheduled_at) WHERE status = 'scheduled';

CREATE TABLE campaign_lists (
    tenant_id   uuid NOT NULL,
    campaign_id uuid NOT NULL,
    list_id     uuid NOT NULL,
    PRIMARY KEY (campaign_id, list_id),
    FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, list_id) REFERENCES contact_lists (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX campaign_lists_list_idx ON campaign_lists (tenant_id, list_id);

CREATE TABLE campaign_sending_numbers (
    tenant_id         uuid NOT NULL,
    campaign_id       uuid NOT NULL,
    sending_number_id uuid NOT NULL,
    PRIMARY KEY (campaign_id, sending_number_id),
    FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, sending_number_id) REFERENCES sending_numbers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX campaign_sending_numbers_number_idx ON campaign_sending_numbers (tenant_id, sending_number_id);

-- ---------------------------------------------------------------------------
-- Send jobs: one row per campaign and contact. PostgreSQL is the truth; Redis
-- only holds job ids saying what to do next.
--   queued      waiting in Redis (ready list or delayed set for a retry backoff)
--   sending     claimed by a worker (UPDATE … WHERE status = 'queued')
--   parked      stopped by a kill switch (global, tenant, campaign); re-queued on resume
--   deferred    held by quiet hours, budget or warmup until next_attempt_at
--   sent        accepted by Twilio (provider_sid set)
--   delivered / undelivered / failed   final word from Twilio or a permanent error
--   blocked     refused by do-not-contact, opt-out or consent; never sent
--   cancelled   withdrawn (STOP, DNC add, campaign cancelled) before sending
--   unknown     the request may have reached Twilio; never re-sent blindly
-- ---------------------------------------------------------------------------
CREATE TABLE send_jobs (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id               uuid NOT NULL,  -- tenant cascade and tenant match come through the campaign FK
    campaign_id             uuid NOT NULL,
    contact_id              uuid NOT NULL,  -- soft reference, see below
    sending_number_id       uuid NOT NULL,  -- soft reference, see below
    to_phone                text NOT NULL CONSTRAINT send_jobs_to_phone_format CHECK (to_phone ~ '^\+[1-9][0-9]{6,14}$'),
    from_phone              text NOT NULL CONSTRAINT send_jobs_from_phone_format CHECK (from_phone ~ '^\+[1-9][0-9]{6,14}$'),
    body                    text NOT NULL CONSTRAINT send_jobs_body_length CHECK (char_length(body) BETWEEN 1 AND 1600),
    encoding                text NOT NULL CONSTRAINT send_jobs_encoding_check CHECK (encoding IN ('gsm7', 'ucs2')),
    segments                smallint NOT NULL CONSTRAINT send_jobs_segments_positive CHECK (segments >= 1),
    estimated_cost_cents    numeric(12,4) NOT NULL DEFAULT 0 CHECK (estimated_cost_cents >= 0),
    -- What is currently held against budgets, and the periods it was charged to,
    -- so a settlement adjusts the right period (or nothing once it rolled over).
    reserved_cents          numeric(12,4) NOT NULL DEFAULT 0 CHECK (reserved_cents >= 0),
    reserved_daily_period   date,
    reserved_monthly_period date,
    cost_cents              numeric(12,4) CHECK (cost_cents >= 0),  -- actual price from Twilio, when known
    price_unit              text,
    status                  text NOT NULL DEFAULT 'queued' CONSTRAINT send_jobs_status_check
                            CHECK (status IN ('queued', 'sending', 'parked', 'deferred', 'sent', 'delivered',
                                              'undelivered', 'failed', 'blocked', 'cancelled', 'unknown')),
    provider_status         text,  -- Twilio's last raw MessageStatus
    failure_reason          text,
    error_code              integer,  -- Twilio error code
    provider_sid            text CONSTRAINT send_jobs_provider_sid_not_blank CHECK (provider_sid <> ''),
    attempts                smallint NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts            smallint NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
    next_attempt_at         timestamptz,
    last_gate               text CONSTRAINT send_jobs_last_gate_check
                            CHECK (last_gate IN ('kill_switch', 'do_not_contact', 'opted_out', 'consent',
                                                 'quiet_hours', 'budget', 'warmup', 'rate_limit', 'passed')),
    last_gate_at            timestamptz,
    claimed_at              timestamptz,
    claimed_by              text,  -- worker instance id
    last_attempt_at         timestamptz,  -- when the last request to Twilio started (for settling unknown)
    dead_at                 timestamptz,  -- attempts used up; in the dead list
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    sent_at                 timestamptz,
    delivered_at            timestamptz,
    -- One job per campaign and contact, so relaunch (ON CONFLICT (campaign_id, contact_id)
    -- DO NOTHING) is harmless. contact_id leads so the same index finds a contact's
    -- pending jobs when STOP or a do-not-contact entry cancels them.
    CONSTRAINT send_jobs_contact_campaign_key UNIQUE (contact_id, campaign_id),
    FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns (tenant_id, id) ON DELETE CASCADE
    -- contact_id and sending_number_id deliberately have no FOREIGN KEY: each
    -- per-row check costs 2-6 s per 1,000,000-job launch (measured on this
    -- machine against a 10 s goal), and launch takes both from a tenant-filtered
    -- join. A job whose contact was deleted keeps to_phone as history; the worker
    -- treats a missing contact as cancelled. Deactivate numbers rather than delete.
);
CREATE UNIQUE INDEX send_jobs_provider_sid_key ON send_jobs (provider_sid) WHERE provider_sid IS NOT NULL;
CREATE INDEX send_jobs_status_created_idx ON send_jobs (status, created_at);
CREATE INDEX send_jobs_tenant_campaign_status_idx ON send_jobs (tenant_id, campaign_id, status);
-- Cheap time-range index for the runbook's "last hour" delivery-rate query.
CREATE INDEX send_jobs_created_brin ON send_jobs USING brin (created_at);
-- Periodic duties: due deferred jobs, and stuck sending / unknown jobs to reconcile.
CREATE INDEX send_jobs_deferred_due_idx ON send_jobs (next_attempt_at) WHERE status = 'deferred';
CREATE INDEX send_jobs_in_flight_idx ON send_jobs (claimed_at) WHERE status IN ('sending', 'unknown');

-- ---------------------------------------------------------------------------
-- Twilio webhooks and inbound messages
-- ---------------------------------------------------------------------------
CREATE TABLE webhook_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- I-Twilio-Idempotency-Token, else MessageSid + MessageStatus + ErrorCode
    event_key       text NOT NULL CONSTRAINT webhook_events_event_key_key UNIQUE,
    kind            text NOT NULL CONSTRAINT webhook_events_kind_check CHECK (kind IN ('status', 'inbound')),
    tenant_id       uuid REFERENCES tenants (id) ON DELETE CASCADE,  -- NULL = unroutable
    send_job_id     uuid,  -- no FK: events are kept and purged on their own schedule
    message_sid     text,
    message_status  text,  -- raw Twilio status, including values smscrm does not know
    payload         jsonb NOT NULL,
    signature_valid boolean NOT NULL DEFAULT true,
    received_at     timestamptz NOT NULL DEFAULT now(),
    processed_at    timestamptz,
    outcome         text,  -- e.g. applied, stale, unroutable, unknown_job
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      text
);
CREATE INDEX webhook_events_received_idx ON webhook_events (received_at);
CREATE INDEX webhook_events_unprocessed_idx ON webhook_events (received_at) WHERE processed_at IS NULL;
CREATE INDEX webhook_events_message_sid_idx ON webhook_events (message_sid);

CREATE TABLE inbound_messages (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    contact_id   uuid,
    from_phone   text NOT NULL CONSTRAINT inbound_messages_from_not_blank CHECK (from_phone <> ''),
    to_phone     text NOT NULL CONSTRAINT inbound_messages_to_phone_format CHECK (to_phone ~ '^\+[1-9][0-9]{6,14}$'),
    body         text NOT NULL DEFAULT '',
    provider_sid text NOT NULL CONSTRAINT inbound_messages_provider_sid_key UNIQUE,
    keyword      text CONSTRAINT inbound_messages_keyword_check CHECK (keyword IN ('opt_out', 'opt_in', 'help')),  -- NULL = ordinary message
    received_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE SET NULL (contact_id)
);
CREATE INDEX inbound_messages_tenant_received_idx ON inbound_messages (tenant_id, received_at, id);
CREATE INDEX inbound_messages_contact_idx ON inbound_messages (tenant_id, contact_id);

-- ---------------------------------------------------------------------------
-- Audit log. tenant_id and actor_id deliberately have no foreign keys: the
-- trail must outlive the tenants, users and keys it mentions (including the
-- record of their deletion). Retention purges it by created_at.
-- ---------------------------------------------------------------------------
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   uuid,  -- NULL = platform action
    actor_type  text NOT NULL CONSTRAINT audit_log_actor_type_check CHECK (actor_type IN ('user', 'api_key', 'system', 'cli')),
    actor_id    uuid,  -- users.id or api_keys.id
    actor_label text,  -- email or key prefix at the time
    action      text NOT NULL,  -- e.g. tenant.pause, dnc.remove, campaign.launch
    target_type text,
    target_id   text,
    details     jsonb NOT NULL DEFAULT '{}',
    ip          inet,
    request_id  text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_tenant_created_idx ON audit_log (tenant_id, created_at, id);
CREATE INDEX audit_log_created_idx ON audit_log (created_at);
