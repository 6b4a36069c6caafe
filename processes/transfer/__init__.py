"""Internal transfer (内部移交, R4.2.1-R4.2.2): hops between departments, handover records, escalation."""
