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
"""Python equivalent of tensorflow/examples/speech_commands/accuracy_utils_test.cc.

Run against earshot's speech_commands.accuracy_utils; how each C++ statement is translated
is listed in tests/reference/README.md.
"""

import os

from speech_commands import accuracy_utils
from tensorflow.python.platform import test


class AccuracyUtilsTest(test.TestCase):

    def testReadGroundTruthFile(self):
        file_name = os.path.join(self.get_temp_dir(), "ground_truth.txt")
        file_data = "a,10\nb,12\n"
        with open(file_name, "w") as f:
            f.write(file_data)

        ground_truth = accuracy_utils.read_ground_truth_file(file_name)
        self.assertEqual(2, len(ground_truth))
        self.assertEqual("a", ground_truth[0][0])
        self.assertEqual(10, ground_truth[0][1])
        self.assertEqual("b", ground_truth[1][0])
        self.assertEqual(12, ground_truth[1][1])

    def testCalculateAccuracyStats(self):
        stats = accuracy_utils.calculate_accuracy_stats(
            [("a", 1000), ("b", 9000)], [("a", 1200), ("b", 5000), ("a", 8700)], 10000, 500)
        self.assertEqual(2, stats.how_many_ground_truth_words)
        self.assertEqual(2, stats.how_many_ground_truth_matched)
        self.assertEqual(1, stats.how_many_false_positives)
        self.assertEqual(1, stats.how_many_correct_words)
        self.assertEqual(1, stats.how_many_wrong_words)

    def testPrintAccuracyStats(self):
        stats = accuracy_utils.StreamingAccuracyStats()
        stats.print_accuracy_stats()


if __name__ == "__main__":
    test.main()
