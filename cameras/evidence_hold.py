"""The evidence hold on recording segments: retention never deletes a locked segment.

Case files set the hold on the segments they cite; investigators and admins may also set or lift it
by hand (``POST /api/recording-segments/{id}/lock/`` and ``…/unlock/``). Every change is audited
with its reason, because lifting a hold lets retention delete footage.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from cameras.models import RecordingSegment
from portal.services import audit, client_ip


@transaction.atomic
def set_segment_lock(
    *, segment: RecordingSegment, locked: bool, actor: Any, reason: str = "", request: Any = None
) -> RecordingSegment:
    """Hold (``locked=True``) or release a segment; a no-op change is not audited."""
    segment = RecordingSegment.objects.select_for_update().get(pk=segment.pk)
    if segment.locked != locked:
        segment.locked = locked
        segment.save(update_fields=["locked"])
        audit(
            action="segment_locked" if locked else "segment_unlocked",
            actor=actor,
            ward=segment.ward_id,
            obj=segment,
            reason=reason,
            detail={"camera": segment.camera_id, "path": segment.path},
            ip=client_ip(request),
        )
    return segment
