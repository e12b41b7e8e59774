// Runs on the audio thread: hands the main thread mono float32 blocks of raw microphone PCM.
// Blocks are batched (the render quantum is only 128 frames) to keep message traffic low.
const BATCH_FRAMES = 2048;

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.buffer = new Float32Array(BATCH_FRAMES);
    this.filled = 0;
  }

  process(inputs) {
    const channels = inputs[0];
    if (channels && channels.length) {
      const frames = channels[0].length;
      for (let i = 0; i < frames; i++) {
        let sum = 0;
        for (const channel of channels) sum += channel[i];
        this.buffer[this.filled++] = sum / channels.length;
        if (this.filled === BATCH_FRAMES) {
          this.port.postMessage(this.buffer);
          this.buffer = new Float32Array(BATCH_FRAMES);
          this.filled = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor('capture-processor', CaptureProcessor);
