"""Shared infrastructure of earshot: audio input, speech synthesis, atomic files, cache."""
