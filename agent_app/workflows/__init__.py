"""The app's workflows, one module each: chaining, parallel, routing and a person in the loop."""

from . import chain, panel, review, triage

WORKFLOWS = [chain.workflow_chain, panel.workflow_panel, triage.workflow_triage, review.workflow_review]
