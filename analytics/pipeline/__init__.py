"""The vision pipeline's plain-Python core (DESIGN.md §4, STYLE.md §6).

One abstract base class per stage in :mod:`.base`, one implementation per file in the stage's
sub-package, chosen by name from a validated :class:`.config.PipelineConfig` through :mod:`.registry`,
and driven frame by frame by :class:`.runner.Pipeline`. Nothing here imports Django: the same code runs
in a Celery worker, a stream supervisor, a benchmark or a unit test on plain arrays.
"""
