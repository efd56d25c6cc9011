-- The tenant's legal hold, if any: $1 tenant id.
SELECT reason, placed_by, placed_at FROM legal_holds WHERE tenant_id = $1;
