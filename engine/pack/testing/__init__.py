"""Running a pack's examples and tests, planning overlays, and checking deadline boundaries."""

from .run import (
    ExampleResult,
    PackRun,
    all_examples,
    behaviour,
    check_boundaries,
    plan,
    run_example,
    run_tests,
    windows,
)

__all__ = [
    "ExampleResult",
    "PackRun",
    "all_examples",
    "behaviour",
    "check_boundaries",
    "plan",
    "run_example",
    "run_tests",
    "windows",
]
