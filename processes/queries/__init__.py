"""Query approval (查询审批, R4.4): applications, expiring read-only grants, watermarked views, external requests."""
