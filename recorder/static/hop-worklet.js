// Runs on the audio thread of a 16 kHz AudioContext: hands the main thread the microphone as
// mono float32 hops of `hopSamples` samples, the audio one step of a streaming model takes.
// A hop is 10 render quanta of 128 frames, so the main thread gets 12.5 messages a second.

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
