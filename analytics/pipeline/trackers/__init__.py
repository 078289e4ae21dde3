"""Trackers: link detections across frames into tracks with stable ids."""
