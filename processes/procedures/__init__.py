"""Procedures (流程管理): managers change the BPMN diagrams that run every stage, safely and visibly."""
