"""Tasks of the shared kit, run by the task cluster on their schedules (`integrations/schedules.py`)."""

from dataclasses import asdict

from backoffice.partitions import partitions_maintain as _partitions_maintain


def partitions_maintain():
    """The coming days' partitions made and the expired ones dropped; what was done, kept as the task's result."""
    return [asdict(done) for done in _partitions_maintain()]
