"""HostCopy without a GPU (CI has none): host tensors pass through; its CUDA path runs on the
GPU host (bench/gpu/host-copy-check.py)."""
import unittest

from gpupool import HostCopy


class _Device:
    def __init__(self, kind):
        self.type = kind


class _HostValue:
    """Stands in for a CPU tensor: HostCopy only reads .device.type of a host value."""

    def __init__(self, values):
        self.device = _Device("cpu")
        self.values = values


class HostCopyTest(unittest.TestCase):
    def test_host_values_pass_through_unchanged(self):
        a, b = _HostValue([1]), _HostValue([2])
        self.assertIs(HostCopy(a).wait(), a)
        self.assertEqual(HostCopy(a, b).wait(), (a, b))

    def test_values_without_a_device_pass_through(self):
        self.assertEqual(HostCopy([1, 2]).wait(), [1, 2])

    def test_nothing_to_copy_is_an_error(self):
        with self.assertRaisesRegex(TypeError, "at least one tensor"):
            HostCopy()


if __name__ == "__main__":
    unittest.main()
