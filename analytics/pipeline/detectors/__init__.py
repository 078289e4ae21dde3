"""Object detectors, one backend per file. ``motion-blobs`` needs nothing but OpenCV."""
