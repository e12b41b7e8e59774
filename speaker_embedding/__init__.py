"""speaker_embedding package."""
