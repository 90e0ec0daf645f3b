"""What is done to a cell: protocols and their steps, the run engine that drives the
instruments off the GUI thread, live buffers, and the alarm policy that makes the
cell safe."""
