"""Audit chain (审计日志): every create, correct, hand over, reveal, approve and deploy, hash-chained."""
