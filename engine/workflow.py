"""The workflow the runtime steps: SpiffWorkflow's BpmnWorkflow, walking its task tree less often.

SpiffWorkflow finds ready and waiting tasks by walking the whole task tree with a general-purpose
iterator, several times per step (each pass of do_engine_steps, and after every completed task). The
workflow's task table (`workflow.tasks`) holds every task of its tree, so where at most one task
matches, a scan of the table finds the same task for a fraction of the cost; where more match, the
tree walk gives them in SpiffWorkflow's order. tests/engine/test_engine_steps.py runs diagrams both
ways side by side and compares the trees step by step.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from .budget import charge

# SpiffWorkflow's tree walk stops descending at this depth; a table this small cannot be that deep.
_WALK_DEPTH = 1000


class Workflow(BpmnWorkflow):
    """A BpmnWorkflow whose engine steps, ready-task lookups and waiting-task updates scan the task table."""

    def ready_tasks(self, *, manual: bool) -> list:
        """get_tasks(state=READY, manual=manual), in the same (tree) order."""
        if self.subprocesses or len(self.tasks) >= _WALK_DEPTH:  # the walk visits subprocesses too
            return self.get_tasks(state=TaskState.READY, manual=manual)
        found = [t for t in self.tasks.values() if t.state == TaskState.READY and t.task_spec.manual == manual]
        if len(found) > 1:
            return self.get_tasks(state=TaskState.READY, manual=manual)
        return found

    def engine_steps(self) -> None:
        """do_engine_steps: passes that each run the READY engine tasks, in tree order, until a pass finds
        none, then a timer refresh. A workflow with subprocesses is left to SpiffWorkflow."""
        while not self.subprocesses:
            ready = self.ready_tasks(manual=False)
            if not ready:
                self.refresh_timers()
                return
            for task in ready:
                task.run()
                charge(task)  # a diagram that loops or fans out is stopped by the step's budget
        self.do_engine_steps(did_complete_task=charge)

    def create_subprocess(self, my_task, spec_name):
        """SpiffWorkflow's, counted against the step's budget (a diagram calling itself nests without end)."""
        charge(my_task)
        return super().create_subprocess(my_task, spec_name)

    def update_waiting_tasks(self) -> None:
        """SpiffWorkflow's own, run after every completed task: update each WAITING task, visiting the tree
        as its iterator does (depth first, the children read when their parent is reached, below FUTURE
        tasks only), without the iterator's bookkeeping."""
        if len(self.tasks) >= _WALK_DEPTH:
            super().update_waiting_tasks()
            return
        waiting, future = TaskState.WAITING, TaskState.FUTURE
        stack = [self.task_tree]
        while stack:
            task = stack.pop()
            if task._children and task.state >= future:
                stack.extend(reversed(task.children))
            if task.state & waiting:
                task.task_spec._update(task)
