"""Background jobs: long planning runs off the request thread.

``start(kind, fn)`` runs ``fn(report)`` in a thread inside the app context
and returns a :class:`Job` at once; ``report(progress, message)`` updates it.
``GET /api/jobs/<id>`` answers ``{id, kind, state, progress, message,
result, error}`` (state: queued → running → done | failed). Jobs are kept
in the app (a registry per app, the last job of each kind remembered), so a
page reloaded while a run goes on finds it again and keeps polling.

Each job is also written to ``<PLAN_FOLDER>/jobs/<id>.json`` when it starts
and ends, so its outcome outlives a restart of the site; a job found there
still "running" but unknown to the process was cut short by the restart and
is answered as failed.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path

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


def _folder(app: Flask) -> Path | None:
    from web.plans import plan_folder

    try:
        folder = plan_folder(app) / "jobs"
        folder.mkdir(exist_ok=True)
        return folder
    except OSError:
        return None


def _save(app: Flask, job: Job) -> None:
    folder = _folder(app)
    if folder is None:
        return
    record = {**job.to_dict(), "owner": job.owner, "created": job.created, "finished": job.finished}
    tmp = folder / f"{job.id}.json.tmp"
    tmp.write_text(json.dumps(record, ensure_ascii=False, default=str), encoding="utf-8")
    tmp.replace(folder / f"{job.id}.json")


def _load(app: Flask, job_id: str) -> Job | None:
    folder = _folder(app)
    if folder is None or not job_id.isalnum():
        return None
    path = folder / f"{job_id}.json"
    if not path.is_file():
        return None
    r = json.loads(path.read_text(encoding="utf-8"))
    job = Job(id=r["id"], kind=r["kind"], owner=r.get("owner"), state=r["state"], progress=r["progress"],
              message=r.get("message") or "", result=r.get("result"), error=r.get("error"),
              created=r.get("created") or 0.0, finished=r.get("finished"))
    if job.state in ("queued", "running"):  # not in this process: the site restarted under it
        job.state, job.error = "failed", "interrupted: the site was restarted during the run"
    return job


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
            try:
                _save(app, job)
            except OSError:  # the outcome stays in memory
                app.logger.warning("could not write job %s", job.id)

    with reg["lock"]:
        reg["jobs"][job.id] = job
        reg["latest"][kind] = job.id
        done = [j for j in reg["jobs"].values() if j.finished is not None]
        for old in sorted(done, key=lambda j: j.created)[:-KEEP]:
            reg["jobs"].pop(old.id, None)
    try:
        _save(app, job)
    except OSError:
        app.logger.warning("could not write job %s", job.id)
    job.thread = threading.Thread(target=run, name=f"zoufang-job-{job.id}", daemon=True)
    job.thread.start()
    return job


def get(job_id: str, app: Flask | None = None) -> Job | None:
    """The job ``job_id`` of this process, else as last written (see the module docs)."""
    app = app or current_app._get_current_object()
    return _registry(app)["jobs"].get(job_id) or _load(app, job_id)


def latest(kind: str, app: Flask | None = None) -> Job | None:
    app = app or current_app._get_current_object()
    reg = _registry(app)
    job_id = reg["latest"].get(kind)
    return reg["jobs"].get(job_id) if job_id else None


def running(kind: str, app: Flask | None = None) -> Job | None:
    job = latest(kind, app)
    return job if job is not None and job.state in ("queued", "running") else None
