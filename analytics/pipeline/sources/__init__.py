"""Frame sources: a video file, a camera stream, or frames already in memory."""
