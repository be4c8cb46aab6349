"""The conversion tool (the seed's PFCT): moving running instances between installations.

``export_instances`` writes the open instances, with the definition versions they run, their
history, pending events (timers included), external calls, related interactions and what
other apps keep per instance (work items), as JSON lines in the ``ipa.instances/v1`` format
(docs/instance-file.md). It reads one consistent snapshot and writes nothing to the database.

``import_instances`` loads such a file in one transaction, all or nothing, under the reserved
storage id ``import`` (``IMPORT_STORAGE_ID``) that no node has: no engine delivers their events,
runs their external actions or steps them, so they can be looked at, and removed again with
``back_out``, until ``flow_admin transfer import NODE`` hands them to a live node.

Other apps add the rows they keep per instance with ``register_instance_part`` (in ``ready``),
so this module imports none of them.
"""

from .export import ExportReport, as_line, export_instances, selected_instance_ids
from .load import BackOut, ImportReport, back_out, batches, import_instances, read_records
from .parts import (
    FORMAT,
    OPEN_STATUSES,
    ImportContext,
    ImportRefused,
    InstancePart,
    Progress,
    instance_parts,
    moment,
    register_instance_part,
)

__all__ = [
    "FORMAT", "OPEN_STATUSES", "BackOut", "ExportReport", "ImportContext", "ImportRefused", "ImportReport",
    "InstancePart", "Progress", "as_line", "back_out", "batches", "export_instances", "import_instances",
    "instance_parts", "moment", "read_records", "register_instance_part", "selected_instance_ids",
]
