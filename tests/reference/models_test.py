# Copyright 2017 The TensorFlow Authors. All Rights Reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
# ==============================================================================
"""Tests for speech commands models.

Ported from tensorflow/examples/speech_commands/models_test.py to earshot's
speech_commands; the changes made are listed in tests/reference/README.md.
"""

import tensorflow as tf

from speech_commands.reference import models
from tensorflow.python.platform import test


class ModelsTest(test.TestCase):
    def _modelSettings(self):
        return models.prepare_model_settings(
            label_count=10,
            sample_rate=16000,
            clip_duration_ms=1000,
            window_size_ms=20,
            window_stride_ms=10,
            feature_bin_count=40,
            preprocess="mfcc",
        )

    def testPrepareModelSettings(self):
        self.assertIsNotNone(
            models.prepare_model_settings(
                label_count=10,
                sample_rate=16000,
                clip_duration_ms=1000,
                window_size_ms=20,
                window_stride_ms=10,
                feature_bin_count=40,
                preprocess="mfcc",
            )
        )

    def testCreateModelConvTraining(self):
        model_settings = self._modelSettings()
        fingerprint_input = tf.zeros([1, model_settings["fingerprint_size"]])
        logits, dropout_rate = models.create_model(
            fingerprint_input, model_settings, "conv", True
        )
        self.assertIsNotNone(logits)
        self.assertIsNotNone(dropout_rate)
        self.assertIsNotNone(self.evaluate(logits))
        self.assertIsNotNone(self.evaluate(dropout_rate))

    def testCreateModelConvInference(self):
        model_settings = self._modelSettings()
        fingerprint_input = tf.zeros([1, model_settings["fingerprint_size"]])
        logits = models.create_model(
            fingerprint_input, model_settings, "conv", False
        )
        self.assertIsNotNone(logits)
        self.assertIsNotNone(self.evaluate(logits))

    def testCreateModelLowLatencyConvTraining(self):
        model_settings = self._modelSettings()
        fingerprint_input = tf.zeros([1, model_settings["fingerprint_size"]])
        logits, dropout_rate = models.create_model(
            fingerprint_input, model_settings, "low_latency_conv", True
        )
        self.assertIsNotNone(logits)
        self.assertIsNotNone(dropout_rate)
        self.assertIsNotNone(self.evaluate(logits))
        self.assertIsNotNone(self.evaluate(dropout_rate))

    def testCreateModelFullyConnectedTraining(self):
        model_settings = self._modelSettings()
        fingerprint_input = tf.zeros([1, model_settings["fingerprint_size"]])
        logits, dropout_rate = models.create_model(
            fingerprint_input, model_settings, "single_fc", True
        )
        self.assertIsNotNone(logits)
        self.assertIsNotNone(dropout_rate)
        self.assertIsNotNone(self.evaluate(logits))
        self.assertIsNotNone(self.evaluate(dropout_rate))

    def testCreateModelBadArchitecture(self):
        model_settings = self._modelSettings()
        fingerprint_input = tf.zeros([1, model_settings["fingerprint_size"]])
        with self.assertRaises(Exception) as e:
            models.create_model(
                fingerprint_input, model_settings, "bad_architecture", True
            )
        self.assertIn("not recognized", str(e.exception))

    def testCreateModelTinyConvTraining(self):
        model_settings = self._modelSettings()
        fingerprint_input = tf.zeros([1, model_settings["fingerprint_size"]])
        logits, dropout_rate = models.create_model(
            fingerprint_input, model_settings, "tiny_conv", True
        )
        self.assertIsNotNone(logits)
        self.assertIsNotNone(dropout_rate)
        self.assertIsNotNone(self.evaluate(logits))
        self.assertIsNotNone(self.evaluate(dropout_rate))


if __name__ == "__main__":
    test.main()
