"""Embeds a synthesized spoken phrase and prints what came out.

    python -m speech_embedding.demo
"""

import speech_embedding
from earshot import cli, tts

PHRASE = "Hey computer, set a timer for ten minutes."


def main(argv: list[str]) -> None:
    del argv
    speaker = tts.speakers(1)[0]
    waveform = tts.speak(PHRASE, speaker)
    embedding = speech_embedding.embed(waveform)
    print(f'"{PHRASE}" spoken by espeak-ng voice {speaker.accent}+{speaker.variant}: '
          f"{waveform.size / speech_embedding.SAMPLE_RATE:.2f} s of audio")
    print(f"embedding: shape {embedding.shape} (one 96-d vector per 80 ms), dtype {embedding.dtype}, "
          f"mean {embedding.mean():.3f}, std {embedding.std():.3f}")


if __name__ == "__main__":
    cli.run(main)
