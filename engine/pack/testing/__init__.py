"""Running a pack's examples and tests, planning overlays, and checking deadline boundaries."""

from .boundaries import check_boundaries, windows
from .plan import behaviour, plan
from .run import ExampleResult, PackRun, all_examples, run_example, run_tests

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
