// Runs on the audio thread: hands the main thread the microphone as mono float32 blocks of
// `hopSamples` samples. The live page asks for the audio one step of a streaming model takes
// (1280 at 16 kHz, 10 render quanta of 128 frames: 12.5 messages a second); the recording
// page for bigger blocks, only to keep message traffic low.

class HopProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.hopSamples = options.processorOptions.hopSamples;
    this.hop = new Float32Array(this.hopSamples);
    this.filled = 0;
  }

  process(inputs) {
    const channels = inputs[0];
    if (channels && channels.length) {
      const frames = channels[0].length;
      for (let i = 0; i < frames; i++) {
        let sum = 0;
        for (const channel of channels) sum += channel[i];
        this.hop[this.filled++] = sum / channels.length;
        if (this.filled === this.hopSamples) {
          this.port.postMessage(this.hop, [this.hop.buffer]);
          this.hop = new Float32Array(this.hopSamples);
          this.filled = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor('hop-processor', HopProcessor);
