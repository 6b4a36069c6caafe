"""Supervision (R5, R6.3): inspections, rectification notices with re-inspection, the three KPIs, appraisal, training."""
