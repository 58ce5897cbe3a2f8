-- The last messages a tenant sent, newest first: the rolling 100-message
-- opt-out rate (reports and the worker's metric) reads it every few seconds,
-- and without it each read scans every job of the tenant. Partial, so launches
-- (which insert jobs with no sent_at) do not maintain it.
CREATE INDEX send_jobs_tenant_sent_idx ON send_jobs (tenant_id, sent_at DESC) WHERE sent_at IS NOT NULL;
