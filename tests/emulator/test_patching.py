"""files/patch applies a git-style unified diff, all or nothing."""

from __future__ import annotations

import pytest

from orchestrator.emulator.patching import apply_patch

FILES = {"main.py": "a = 1\nb = 2\nc = 3\n", "old.py": "x\n"}

PATCH = """diff --git a/main.py b/main.py
index 1111111..2222222 100644
--- a/main.py
+++ b/main.py
@@ -1,3 +1,3 @@
 a = 1
-b = 2
+b = 20
 c = 3
diff --git a/new.py b/new.py
new file mode 100644
--- /dev/null
+++ b/new.py
@@ -0,0 +1,2 @@
+print("hi")
+y = 2
diff --git a/old.py b/old.py
deleted file mode 100644
--- a/old.py
+++ /dev/null
@@ -1 +0,0 @@
-x
"""


def test_a_patch_edits_creates_and_deletes_files() -> None:
    assert apply_patch(FILES, PATCH) == {"main.py": "a = 1\nb = 20\nc = 3\n", "new.py": 'print("hi")\ny = 2\n'}


def test_a_patch_whose_context_does_not_match_is_refused() -> None:
    stale = PATCH.replace("-b = 2", "-b = 5")
    with pytest.raises(ValueError, match=r"main\.py: line 2 does not match"):
        apply_patch(FILES, stale)


def test_a_patch_of_a_missing_file_is_refused() -> None:
    with pytest.raises(ValueError, match=r"other\.py: no such file"):
        apply_patch(FILES, PATCH.replace("a/main.py", "a/other.py"))


def test_changed_lines_that_look_like_file_headers_stay_in_their_hunk() -> None:
    # Removing the line "-- a" is written "--- a" and adding "++ b" is "+++ b": the hunk header's
    # counts (3 old lines, 3 new lines) say they are hunk lines, not the next file's header.
    files = {"query.sql": "select 1;\n-- a\nselect 2;\n"}
    patch = ("--- a/query.sql\n+++ b/query.sql\n@@ -1,3 +1,3 @@\n"
             " select 1;\n--- a\n+++ b\n select 2;\n")
    assert apply_patch(files, patch) == {"query.sql": "select 1;\n++ b\nselect 2;\n"}
