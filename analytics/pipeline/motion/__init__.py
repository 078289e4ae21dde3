"""Motion gates: decide whether a frame needs the detector, and where to look."""
