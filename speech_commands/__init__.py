"""speech_commands package."""
