"""Scheduled jobs. Features register due-job functions here; ``jobs run-once`` runs each once.

The scheduler process and the database lease that keeps several portal processes from running a
job twice come with the notification engine.
"""
from __future__ import annotations

from typing import Callable

#: name → function run when due. Empty until features register jobs.
JOBS: dict[str, Callable[[], None]] = {}


def register(name: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    def decorator(func: Callable[[], None]) -> Callable[[], None]:
        JOBS[name] = func
        return func
    return decorator


def run_due_jobs() -> list[str]:
    ran = []
    for name, func in JOBS.items():
        func()
        ran.append(name)
    return ran
