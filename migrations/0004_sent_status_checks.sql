-- Sent jobs whose final status report never came are looked up at the
-- provider (issue 11, defect 2: callbacks lost to a database restart or an API
-- outage left 2.2 % of a campaign `sent` for good). status_checked_at says when
-- a job was last looked up, so each is asked about once per
-- SEND_STATUS_RECONCILE_AFTER_SECONDS; the partial index finds the oldest
-- unsettled ones without scanning delivered history, and only rows in `sent`
-- are in it (a launch's inserts do not maintain it).
ALTER TABLE send_jobs ADD COLUMN status_checked_at timestamptz;
CREATE INDEX send_jobs_unsettled_sent_idx ON send_jobs (sent_at) WHERE status = 'sent';
