"""The app's workflows, one module each: chaining, parallel, routing, a person in the loop, delegation."""

from . import chain, delegate, panel, review, triage

WORKFLOWS = [chain.workflow_chain, panel.workflow_panel, triage.workflow_triage, review.workflow_review,
             delegate.workflow_delegate]
