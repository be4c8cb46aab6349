"""Where one process's time goes while it runs approvals: a pyinstrument profile, summarised.

The samples are grouped by where the time is spent: waiting for PostgreSQL (inside
psycopg2's execute and commit), Django's ORM building statements and rows, the engine
(the pure interpreter), the portal's services, and the rest. The full tree is written
to ``bench/out/profile.txt`` (and ``.html``).
"""

from __future__ import annotations

from collections import defaultdict

from bench.common import OUT, table
from bench.engine import DATABASE, Approval, django_setup, ensure_prepared, run_in_child, username

POSTGRES = "waiting for PostgreSQL (psycopg2 execute, commit)"
ORM = "Django ORM (compiling SQL, building rows and models)"
ENGINE = "engine interpreter (processes/engine)"
SERVICES = "portal services (processes, workitems, administration)"
JSON = "JSON encoding and decoding"
OTHER = "other (Django transaction handling, Python)"
HOOKS = "after-commit hooks (work item pushes: re-read, serialize, send to Redis)"
WAITING_FRAMES = ("_execute", "_executemany", "_commit", "_rollback", "_savepoint_commit")


def group_of(frame, parent: str) -> str:
    """A frame's group; built-ins (C functions) count for their caller, except psycopg2's."""
    path = frame.file_path or ""
    if path.startswith("<") or not path:
        if parent == ORM and frame.function in ("execute", "executemany", "commit", "fetchone", "fetchmany",
                                                "fetchall"):
            return POSTGRES
        return parent
    if "/json/" in path:
        return JSON
    if "django/db/" in path:
        return ORM
    if "/processes/engine/" in path:
        return ENGINE
    if "site-packages" not in path and any(f"/{app}/" in path for app in ("processes", "workitems", "administration")):
        return SERVICES
    return OTHER


def walk(frame, parent: str, totals: dict[str, float], caller=None, hooks: bool = False) -> None:
    hooks = hooks or frame.function == "run_and_clear_commit_hooks"
    group = HOOKS if hooks else group_of(frame, parent)
    own = frame.time - sum(child.time for child in frame.children)
    if own > 0:
        # psycopg2's C calls show as the own time ("[self]") of the Django frame that makes them
        waiting = (caller is not None and caller.function in WAITING_FRAMES
                   and "django/db/backends" in (caller.file_path or "") and not frame.file_path)
        totals[POSTGRES if waiting and not hooks else group] += own
    for child in frame.children:
        walk(child, group, totals, frame, hooks)


def _profile(instances: int) -> dict:
    django_setup(DATABASE)
    import pyinstrument

    approval = Approval(username(0))
    approval.run()
    profiler = pyinstrument.Profiler(interval=0.0005)
    profiler.start()
    for _ in range(instances):
        approval.run()
    session = profiler.stop()
    OUT.mkdir(exist_ok=True)
    (OUT / "profile.txt").write_text(profiler.output_text(unicode=False, color=False, show_all=False))
    (OUT / "profile-full.txt").write_text(profiler.output_text(unicode=False, color=False, show_all=True))
    (OUT / "profile.html").write_text(profiler.output_html())
    totals: dict[str, float] = defaultdict(float)
    root = session.root_frame()
    walk(root, OTHER, totals)
    return {"duration": session.duration, "cpu_time": session.cpu_time, "instances": instances,
            "groups": dict(totals)}


def run(instances: int) -> tuple[dict, str]:
    ensure_prepared()
    result = run_in_child(_profile, instances)
    total = sum(result["groups"].values()) or 1.0
    rows = [[name, f"{seconds / result['instances'] * 1000:.2f}", f"{seconds / total:.0%}"]
            for name, seconds in sorted(result["groups"].items(), key=lambda kv: -kv[1])]
    text = table(["where (one process, pyinstrument)", "ms/instance", "share"], rows)
    text += (f"\n{result['instances']} instances in {result['duration']:.1f} s under the profiler "
             f"(CPU {result['cpu_time']:.1f} s); the tree is in bench/out/profile.txt")
    return result, text
