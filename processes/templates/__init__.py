"""Template design and approval (模板设计与审批, R4.1.1-R4.1.2)."""
