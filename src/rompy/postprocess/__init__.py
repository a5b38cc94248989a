"""Postprocessors: what happens to a run's outputs after the model finished."""
