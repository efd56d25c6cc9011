-- At most one live erasure per tenant (or per subject of a tenant): a second
-- request while one is queued, waiting, running or done answers with the
-- first. A cancelled or failed erasure frees the slot for a new one.
CREATE UNIQUE INDEX requests_one_live_erasure
  ON requests (tenant_id, (COALESCE(params ->> 'subjectHash', '')))
  WHERE kind = 'erasure' AND status NOT IN ('cancelled', 'failed');
