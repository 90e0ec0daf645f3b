"""What is learned from a run: pure, vectorised functions and streaming detectors over
numpy arrays and DataFrames. Imports nothing else of ours, so the same code serves the
GUI, the CLI and the run engine."""
