"""What each remaining failure of ``bench.mp_api_suite`` needs: the data or the outside source it reads.

Keys are substrings of a test id (``file::test``); filled from the bench's own runs.
"""

NEEDS: dict[str, str] = {}
