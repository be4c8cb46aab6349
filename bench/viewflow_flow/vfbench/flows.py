"""The bench's three-step approval in django-viewflow, written from viewflow's public API.

StartHandle (the launch, with ``amount``) -> View task assigned to the initiating user,
completed from code -> Function (the ``approved = true`` assignment) -> End, with
``SelectForUpdateLock`` on the process row.
"""

from viewflow import this
from viewflow.workflow import flow, lock
from viewflow.workflow.flow.views import UpdateProcessView


class ApprovalFlow(flow.Flow):
    process_title = "Bench Approval"
    lock_impl = lock.SelectForUpdateLock()

    start = flow.StartHandle(this.start_approval).Next(this.approve)
    approve = flow.View(UpdateProcessView.as_view(fields=[])).Assign(this.initiator).Next(this.approved)
    approved = flow.Function(this.set_approved).Next(this.end)
    end = flow.End()

    def start_approval(self, activation, amount, user):
        activation.process.data = {"amount": str(amount), "approved": False, "initiator": user.username}
        return activation.process

    def initiator(self, activation):
        from django.contrib.auth.models import User

        # as the engine does, the work item goes to the user named by a process variable
        return User.objects.get(username=activation.process.data["initiator"])

    def set_approved(self, activation):
        activation.process.data["approved"] = True
        activation.process.save()
