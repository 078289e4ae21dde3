"""Track observers: closer looks at tracked objects (plates on vehicles, faces on people), one per file.

Listed in :data:`analytics.pipeline.registry.OBSERVERS` and built from the ``plates`` / ``faces``
sections of a :class:`~analytics.pipeline.config.PipelineConfig`.
"""
