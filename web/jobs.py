"""Background jobs: long planning runs off the request thread.

``start(kind, fn)`` runs ``fn(report)`` in a thread inside the app context
and returns a :class:`Job` at once; ``report(progress, message)`` updates it.
``GET /api/jobs/<id>`` answers ``{id, kind, state, progress, message,
result, error}`` (state: queued → running → done | failed). Jobs are kept
in the app (a registry per app, the last job of each kind remembered), so a
page reloaded while a run goes on finds it again and keeps polling.
"""

from __future__ import annotations

import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field

from flask import Flask, current_app

_EXTENSION = "zoufang.jobs"
STATES = ("queued", "running", "done", "failed")
#: finished jobs kept per app (the oldest are forgotten first)
KEEP = 50


@dataclass
class Job:
    id: str
    kind: str
    owner: str | None
    state: str = "queued"
    progress: float = 0.0
    message: str = ""
    result: dict | None = None
    error: str | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None
    thread: threading.Thread | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "state": self.state, "progress": round(self.progress, 3),
                "message": self.message, "result": self.result, "error": self.error}


class JobError(Exception):
    """A job's expected failure: its message is shown to the user as is."""


def _registry(app: Flask) -> dict:
    return app.extensions.setdefault(_EXTENSION, {"jobs": {}, "latest": {}, "lock": threading.Lock()})


def start(kind: str, fn, *, owner: str | None = None, app: Flask | None = None) -> Job:
    """Run ``fn(report)`` in a thread; ``report(progress=None, message=None)``."""
    app = app or current_app._get_current_object()
    reg = _registry(app)
    job = Job(id=uuid.uuid4().hex[:12], kind=kind, owner=owner)

    def report(progress: float | None = None, message: str | None = None):
        if progress is not None:
            job.progress = max(job.progress, min(float(progress), 1.0))
        if message is not None:
            job.message = message

    def run():
        job.state = "running"
        try:
            with app.app_context():
                job.result = fn(report)
            job.progress = 1.0
            job.state = "done"
        except JobError as exc:
            job.error = str(exc)
            job.state = "failed"
        except Exception as exc:  # a bug: keep the trace in the log, a line for the user
            app.logger.error("job %s (%s) failed:\n%s", job.id, kind, traceback.format_exc())
            job.error = f"{type(exc).__name__}: {exc}"
            job.state = "failed"
        finally:
            job.finished = time.time()

    with reg["lock"]:
        reg["jobs"][job.id] = job
        reg["latest"][kind] = job.id
        done = [j for j in reg["jobs"].values() if j.finished is not None]
        for old in sorted(done, key=lambda j: j.created)[:-KEEP]:
            reg["jobs"].pop(old.id, None)
    job.thread = threading.Thread(target=run, name=f"zoufang-job-{job.id}", daemon=True)
    job.thread.start()
    return job


def get(job_id: str, app: Flask | None = None) -> Job | None:
    app = app or current_app._get_current_object()
    return _registry(app)["jobs"].get(job_id)


def latest(kind: str, app: Flask | None = None) -> Job | None:
    app = app or current_app._get_current_object()
    reg = _registry(app)
    job_id = reg["latest"].get(kind)
    return reg["jobs"].get(job_id) if job_id else None


def running(kind: str, app: Flask | None = None) -> Job | None:
    job = latest(kind, app)
    return job if job is not None and job.state in ("queued", "running") else None
