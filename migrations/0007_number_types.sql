-- Contacts carry the type of their number, as libphonenumber tells it (issue 16),
-- so a campaign leaves out and the worker refuses numbers that cannot receive a
-- text (landlines, freephone, premium and shared-cost, …) before any money is
-- spent: carriers answered 30006 for them only after the send was paid for.
-- NULL: stored before types were recorded, treated as unknown (sent to).
ALTER TABLE contacts
    ADD COLUMN number_type text CONSTRAINT contacts_number_type_check
        CHECK (number_type IN ('mobile', 'fixed_line', 'fixed_line_or_mobile', 'toll_free', 'premium_rate', 'shared_cost',
                               'voip', 'personal', 'pager', 'uan', 'voicemail', 'unknown'));

-- In the NANP (and a few other plans) a number does not say whether it is a
-- landline or a mobile; such numbers are texted unless the tenant says otherwise.
ALTER TABLE tenants ADD COLUMN allow_fixed_line_or_mobile boolean NOT NULL DEFAULT true;

-- The worker's new refusal, recorded in last_gate like the others.
ALTER TABLE send_jobs DROP CONSTRAINT send_jobs_last_gate_check;
ALTER TABLE send_jobs ADD CONSTRAINT send_jobs_last_gate_check
    CHECK (last_gate IN ('kill_switch', 'do_not_contact', 'opted_out', 'consent', 'not_sms_capable',
                         'quiet_hours', 'budget', 'warmup', 'rate_limit', 'passed'));
