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
"""Python equivalent of tensorflow/examples/speech_commands/recognize_commands_test.cc.

Run against earshot's speech_commands.recognize_commands (the reference's Python API:
`process_latest_result(latest_results, current_time_ms, recognize_element)`); how each C++
statement is translated is listed in tests/reference/README.md.
"""

import numpy as np

from speech_commands.recognize_commands import RecognizeCommands, RecognizeResult
from tensorflow.python.platform import test


class RecognizeCommandsTest(test.TestCase):

    def testBasic(self):
        recognize_commands = RecognizeCommands(["_silence_", "a", "b"])

        results = np.array([1.0, 0.0, 0.0], np.float32)

        recognize_element = RecognizeResult()
        recognize_commands.process_latest_result(results, 0, recognize_element)

    def testFindCommands(self):
        recognize_commands = RecognizeCommands(["_silence_", "a", "b"], 1000, 0.2)

        results = np.array([0.0, 1.0, 0.0], np.float32)
        has_found_new_command = False
        new_command = ""
        for i in range(10):
            recognize_element = RecognizeResult()
            current_time_ms = 0 + (i * 100)
            recognize_commands.process_latest_result(results, current_time_ms,
                                                     recognize_element)
            if recognize_element.is_new_command:
                self.assertFalse(has_found_new_command)
                has_found_new_command = True
                new_command = recognize_element.founded_command
        self.assertTrue(has_found_new_command)
        self.assertEqual("a", new_command)

        results = np.array([0.0, 0.0, 1.0], np.float32)
        has_found_new_command = False
        new_command = ""
        for i in range(10):
            recognize_element = RecognizeResult()
            current_time_ms = 1000 + (i * 100)
            recognize_commands.process_latest_result(results, current_time_ms,
                                                     recognize_element)
            if recognize_element.is_new_command:
                self.assertFalse(has_found_new_command)
                has_found_new_command = True
                new_command = recognize_element.founded_command
        self.assertTrue(has_found_new_command)
        self.assertEqual("b", new_command)

    def testBadInputLength(self):
        recognize_commands = RecognizeCommands(["_silence_", "a", "b"], 1000, 0.2)

        bad_results = np.array([1.0, 0.0], np.float32)

        recognize_element = RecognizeResult()
        with self.assertRaises(ValueError):
            recognize_commands.process_latest_result(bad_results, 0, recognize_element)

    def testBadInputTimes(self):
        recognize_commands = RecognizeCommands(["_silence_", "a", "b"], 1000, 0.2)

        results = np.array([1.0, 0.0, 0.0], np.float32)

        recognize_element = RecognizeResult()
        recognize_commands.process_latest_result(results, 100, recognize_element)
        with self.assertRaises(ValueError):
            recognize_commands.process_latest_result(results, 0, recognize_element)


if __name__ == "__main__":
    test.main()
