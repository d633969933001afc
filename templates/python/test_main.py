"""Runs without Skiff: `python3 -m unittest` in this folder."""
import unittest
from types import SimpleNamespace

from main import handle

CTX = SimpleNamespace(function_name="test", version=1, log=lambda *args: None)


class HandleTest(unittest.TestCase):
    def test_greets_the_name_in_the_query(self):
        request = SimpleNamespace(query={"name": "ann"})
        self.assertEqual(handle(request, CTX), {"message": "Hello, ann!"})

    def test_greets_the_world_without_one(self):
        request = SimpleNamespace(query={})
        self.assertEqual(handle(request, CTX), {"message": "Hello, world!"})


if __name__ == "__main__":
    unittest.main()
