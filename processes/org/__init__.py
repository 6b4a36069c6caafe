"""Organisation: departments, staff, roles and the chain of superiors (组织架构)."""
