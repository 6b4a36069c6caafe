"""BPMN runtime on SpiffWorkflow: deployment, instances, work items and timers.

Knows nothing about business forms; stages register the operations their diagrams call.
"""
