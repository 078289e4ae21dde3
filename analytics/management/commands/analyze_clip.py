"""``manage.py analyze_clip PATH [--camera CODE] [--fps N] [--model NAME...] [--no-save] [--user NAME]``

Runs the vision pipeline on a video in this process and prints one JSON object: the model used,
frames read/analysed/skipped, tracks by class, line counts, plate reads, alerts, wall seconds and
× real time (DESIGN.md §9). Without ``--camera`` nothing is saved. With ``--camera`` the camera's
zones, lines and rules apply and, unless ``--no-save``, the results are saved as a clip analysis of
the camera's ward (the file is copied into storage), exactly as an uploaded clip's would be; it is
recorded as uploaded by ``--user`` (an operator, investigator or admin of that ward) or, without it,
by the inactive ``matthan-system`` account. Bad input: exit status 1 and the reason on stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.clipjobs import ClipProblem, error_message, probe
from analytics.models import RESULT_ROLES, AnalysisSettings, ClipJob
from analytics.pipeline.base import SourceError

SYSTEM_USERNAME = "matthan-system"


class Command(BaseCommand):
    help = "Analyse a video file and print a JSON summary (model, frames, tracks by class, plate reads, alerts)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The video file.")
        parser.add_argument("--camera", help="Code of the camera that filmed it: its zones, lines and rules apply.")
        parser.add_argument("--fps", type=float, help="Frames analysed per second of video (default: the camera's, or 5).")
        parser.add_argument(
            "--model", nargs="+", dest="models", metavar="NAME", help="Vision model(s) to run instead of the defaults."
        )
        parser.add_argument("--no-save", action="store_true", help="With --camera: print only, save nothing.")
        parser.add_argument("--user", help="With --camera: who the saved analysis is recorded as uploaded by.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if options["fps"] is not None and not 0 < options["fps"] <= 30:
            raise CommandError("--fps must be between 0 and 30.")
        camera = self._camera(options["camera"]) if options["camera"] else None
        try:
            if camera is not None and not options["no_save"]:
                result = self._saved(path, camera, options)
            else:
                result = self._in_memory(path, camera, options)
        except ClipProblem as exc:
            self._fail(error_message(exc.code, exc.params))
        except SourceError as exc:
            self._fail(error_message(exc.code) if exc.code in _KNOWN else str(exc))
        except ValidationError as exc:
            self._fail("; ".join(exc.messages))
        self.stdout.write(json.dumps(result, ensure_ascii=False))

    def _fail(self, message: str) -> None:
        self.stderr.write(message)
        sys.exit(1)

    def _camera(self, code: str) -> Any:
        from cameras.models import Camera

        found = list(Camera.objects.select_related("ward").filter(code=code)[:2])
        if not found:
            raise CommandError(f"No camera with code {code!r}.")
        if len(found) > 1:
            raise CommandError(f"Several wards have a camera {code!r}; give the code of a camera unique across wards.")
        return found[0]

    def _in_memory(self, path: Path, camera: Any, options: dict[str, Any]) -> dict[str, Any]:
        from analytics.pipeline.sources.file import FileSource
        from analytics.vision import build_pipeline, pipeline_config

        probe(path)
        analysis = AnalysisSettings.objects.filter(camera=camera).first() if camera is not None else None
        fps = options["fps"] or (camera.analysis_fps if camera is not None else 5.0)
        data = {"detectors": options["models"]} if options["models"] else None
        config = pipeline_config(analysis, camera=camera, fps=fps, data=data)
        pipeline = build_pipeline(config, FileSource(path, config.analysis_fps))
        summary = pipeline.run()
        plates = sorted(
            (s for s in summary.sightings.values() if s.kind == "plate"),
            key=lambda s: s.timestamp,
        )
        alerts = [{"type": h.type, "rule": h.rule, "t": round(h.timestamp, 2)} for h in summary.hits]
        return _report(
            path,
            summary.as_dict(),
            [{"text": s.text, "confidence": round(s.confidence, 3), "t": round(s.timestamp, 2)} for s in plates],
            alerts,
            job=None,
        )

    def _saved(self, path: Path, camera: Any, options: dict[str, Any]) -> dict[str, Any]:
        from django.db import transaction
        from django.utils import timezone

        from portal.services import audit
        from workers.clips import run_job

        probe(path)  # refuse bad input before copying it into storage
        user = self._user(options["user"], camera)
        with transaction.atomic(), path.open("rb") as handle:
            job = ClipJob(
                ward=camera.ward,
                camera=camera,
                filename=path.name[:200],
                size=path.stat().st_size,
                recorded_at=timezone.now(),
                created_by=user,
            )
            job.file.save("clip.bin", File(handle), save=False)
            job.save()
            audit(
                action="clip_job_queued",
                actor=user,
                ward=camera.ward,
                obj=job,
                actor_name="manage.py analyze_clip",
                detail={"filename": job.filename, "size": job.size, "camera": camera.pk},
            )
        run_job(job.pk, fps=options["fps"], detectors=options["models"])
        job.refresh_from_db()
        if job.status == ClipJob.Status.FAILED:
            self._fail(error_message(job.error_code, {"job": job.pk, **(job.summary.get("error", {}).get("params", {}))}))
        plates = [
            {"text": p.text, "confidence": round(p.confidence, 3), "t": round((p.seen_at - job.recorded_at).total_seconds(), 2)}
            for p in job.platereads.order_by("seen_at")
        ]
        alerts = [
            {"type": item["type"], "rule": item["rule"], "t": item["t"], "until": item["until"], "count": item["count"]}
            for item in job.summary.get("timeline", [])
        ]
        return _report(path, job.summary, plates, alerts, job=job.pk)

    def _user(self, username: str | None, camera: Any) -> Any:
        from django.contrib.auth import get_user_model

        from portal.querysets import ward_ids_for

        users = get_user_model()
        if username is None:
            user, created = users.objects.get_or_create(username=SYSTEM_USERNAME, defaults={"is_active": False})
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            return user
        named: Any = users.objects.filter(username=username).first()
        if named is None:
            raise CommandError(f"No user {username!r}.")
        ids = ward_ids_for(named, RESULT_ROLES)
        if ids is not None and camera.ward_id not in ids:
            raise CommandError(f"{username} is not an operator, investigator or admin of the camera's ward.")
        return named


_KNOWN = {"empty", "not_video", "no_frames", "truncated", "missing", "unreadable", "not_file"}


def _report(
    path: Path, summary: dict[str, Any], plates: list[dict[str, Any]], alerts: list[dict[str, Any]], *, job: int | None
) -> dict[str, Any]:
    return {
        "file": path.name,
        "model": summary.get("model"),
        "frames_read": summary.get("frames_read"),
        "frames_analysed": summary.get("frames_analysed"),
        "frames_skipped": summary.get("frames_skipped"),
        "detector_runs": summary.get("detector_runs"),
        "media_s": summary.get("media_s"),
        "tracks": summary.get("tracks"),
        "tracks_by_class": summary.get("tracks_by_class", {}),
        "line_counts": summary.get("line_counts", {}),
        "plate_reads": plates,
        "alerts": alerts,
        "wall_s": summary.get("wall_s"),
        "realtime": summary.get("realtime"),
        "job": job,
    }
